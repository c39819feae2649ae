"""Screening the ingredients of densekit's defaults: scores only, every run in one process.

benchmarks/defaults.py times each tool in a child process of its own, which costs ~10 s of
imports per measurement; choosing among ingredients needs only the scores, so this script
trains every (set, seed, variant) in one process, on the same files and with the same
`densekit train` call (defaults_tools.run_densekit), and writes its rows in defaults.py's log
format (`--report-only` summarises them beside the peers'). The variants are the
INGREDIENTS of defaults_tools.py, each one setting on top of the defaults of the day.

    python benchmarks/ingredients.py --variants densekit,densekit-wide --sets iris,titanic
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from defaults_sets import BY_NAME, CACHE, SETS, read_meta
from defaults_tools import DENSEKIT_VARIANTS, run_densekit


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="densekit", help=f"of {', '.join(DENSEKIT_VARIANTS)}")
    parser.add_argument("--sets", help="comma-separated; default the sets under 10,000 rows")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--log", type=Path, required=True, help="JSON lines, appended; rows kept on a rerun")
    return parser.parse_args()


def default_sets() -> list[str]:
    return [s.name for s in SETS if read_meta(s.name)["rows"] < 10_000]


def main() -> None:
    import torch
    torch.set_num_threads(1)
    args = parse()
    names = args.sets.split(",") if args.sets else default_sets()
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        sys.exit(f"unknown set(s): {', '.join(unknown)}")
    variants = args.variants.split(",")
    done = {(r["set"], r["tool"], r["seed"]) for r in map(json.loads, args.log.read_text().splitlines())} \
        if args.log.exists() else set()
    commit = os.environ.get("DENSEKIT_COMMIT", "screening")
    for name in names:
        meta = read_meta(name)
        for seed in range(args.seeds):
            for variant in variants:
                if (name, variant, seed) in done:
                    continue
                with tempfile.TemporaryDirectory(dir=CACHE) as scratch:
                    row = {"set": name, "tool": variant, "seed": seed, "commit": commit,
                           **run_densekit(meta, seed, Path(scratch) / "run", variant)}
                with args.log.open("a") as handle:
                    handle.write(json.dumps(row) + "\n")
                print(f"  {name:16s} seed {seed} {variant:24s} {row.get('score', float('nan')):.4f}"
                      f"  {row.get('seconds', 0):.1f} s  {row.get('epochs')} epochs", flush=True)
    summarise(args.log, names, variants)


def summarise(log: Path, names: list[str], variants: list[str]) -> None:
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    table: dict = {}
    for r in rows:
        if "score" in r:
            table.setdefault((r["set"], r["tool"]), []).append(r["score"])
    print("\n| set | " + " | ".join(variants) + " |")
    for name in names:
        cells = [f"{statistics.fmean(table[(name, v)]):.4f}" if (name, v) in table else "—" for v in variants]
        print(f"| {name} | " + " | ".join(cells) + " |")
    base = variants[0]
    for v in variants[1:]:
        diffs = [statistics.fmean(table[(n, v)]) - statistics.fmean(table[(n, base)])
                 for n in names if (n, v) in table and (n, base) in table]
        if diffs:
            better = sum(d > 0 for d in diffs)
            print(f"{v} − {base}: mean {statistics.fmean(diffs):+.4f} over {len(diffs)} sets, "
                  f"better on {better}, worse on {sum(d < 0 for d in diffs)}")


if __name__ == "__main__":
    main()

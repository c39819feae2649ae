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
from defaults_sets import BY_NAME, CACHE, SETS, is_prepared, read_meta
from defaults_tools import DENSEKIT_VARIANTS, run_densekit


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="densekit", help=f"of {', '.join(DENSEKIT_VARIANTS)}")
    parser.add_argument("--sets", help="comma-separated; default the sets under 10,000 rows")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--log", type=Path, required=True, help="JSON lines, appended; rows kept on a rerun")
    parser.add_argument("--record", action="store_true", help="write the summary into benchmarks/RESULTS.md")
    return parser.parse_args()


def default_sets() -> list[str]:
    """The prepared sets under 10,000 rows (benchmarks/defaults.py prepares them, in the peers'
    environment where their packages live); an unprepared set is named, not a traceback."""
    missing = [s.name for s in SETS if not is_prepared(s.name)]
    if missing:
        print(f"not prepared (run benchmarks/defaults.py once to write them): {', '.join(missing)}")
    return [s.name for s in SETS if is_prepared(s.name) and read_meta(s.name)["rows"] < 10_000]


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
    body = summarise(args.log, names, variants)
    if args.record:
        from results import record
        which = f"sets {args.sets}" if args.sets else "the sets under 10,000 rows"
        record(f"{HEADING}: {which}", f"python benchmarks/ingredients.py --variants {args.variants} --seeds {args.seeds}"
               + (f" --sets {args.sets}" if args.sets else ""), body)


HEADING = "Ingredients tried for the defaults (scores only, one process)"


def summarise(log: Path, names: list[str], variants: list[str]) -> str:
    """Per set, each variant's mean score over the seeds; per variant, its mean difference
    from the first and the median ratio of its training seconds to the first's."""
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    scores: dict = {}
    seconds: dict = {}
    for r in rows:
        if "score" in r:
            scores.setdefault((r["set"], r["tool"]), []).append(r["score"])
            seconds.setdefault((r["set"], r["tool"]), []).append(r["seconds"])
    lines = ["| set | " + " | ".join(variants) + " |", "|---|" + "---:|" * len(variants)]
    for name in names:
        cells = [f"{statistics.fmean(scores[(name, v)]):.4f}" if (name, v) in scores else "—" for v in variants]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    base, notes = variants[0], []
    for v in variants[1:]:
        both = [n for n in names if (n, v) in scores and (n, base) in scores]
        diffs = [statistics.fmean(scores[(n, v)]) - statistics.fmean(scores[(n, base)]) for n in both]
        if diffs:
            slower = statistics.median(statistics.median(seconds[(n, v)]) / statistics.median(seconds[(n, base)])
                                       for n in both)
            notes.append(f"- {v} − {base}: mean {statistics.fmean(diffs):+.4f} over {len(diffs)} sets, "
                         f"better on {sum(d > 0 for d in diffs)}, worse on {sum(d < 0 for d in diffs)}; "
                         f"training time ×{slower:.2f} (median over sets)")
    body = "\n".join(notes) + "\n\n" + "\n".join(lines)
    print("\n" + body)
    return body


if __name__ == "__main__":
    main()

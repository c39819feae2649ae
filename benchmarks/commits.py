"""densekit at two commits, side by side: did a change make training slower?

    python benchmarks/commits.py OLD NEW [--repeats 3] [--epochs 2] [--batches 32,128]

Each commit is checked out into a temporary worktree, and speed.py's densekit worker (the
tutorial network on Fashion-MNIST) runs in a child process with that worktree's src first on
the path. The commits alternate within every repeat, one thread each, so both see the same
machine; the median seconds per epoch and the ratio are printed and recorded.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import record_lines  # noqa: E402  (benchmarks/results.py)

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def worktree(revision: str, folder: Path) -> Path:
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(folder), revision],
                   check=True)
    return folder


def short_hash(revision: str) -> str:
    return subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", revision],
                          capture_output=True, text=True, check=True).stdout.strip()


def epoch_seconds(src: Path, batch: int, epochs: int) -> float:
    env = {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, str(HERE / "speed.py"), "--worker", "densekit",
                           "--batch", str(batch), "--epochs", str(epochs), "--device", "cpu"],
                          capture_output=True, text=True, env=env, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])["epoch_seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batches", default="32,128")
    args = parser.parse_args()
    args.old, args.new = short_hash(args.old), short_hash(args.new)  # "HEAD" means nothing later
    batches = [int(b) for b in args.batches.split(",")]
    times: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        trees = {rev: worktree(rev, Path(tmp) / name) for rev, name in ((args.old, "old"), (args.new, "new"))}
        try:
            for _ in range(args.repeats):
                for batch in batches:
                    for rev, tree in trees.items():
                        took = epoch_seconds(tree / "src", batch, args.epochs)
                        times.setdefault((rev, batch), []).append(took)
                        print(f"  {rev[:12]:12s} batch {batch:4d}  {took:.3f} s/epoch", flush=True)
        finally:
            for tree in trees.values():
                subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)])
    lines = []
    for batch in batches:
        old, new = (statistics.median(times[(rev, batch)]) for rev in (args.old, args.new))
        lines.append(f"batch {batch}: {args.old} {old:.3f} s/epoch, {args.new} {new:.3f} s/epoch "
                     f"(new/old {new / old:.3f}; runs {', '.join(f'{t:.2f}' for t in times[(args.new, batch)])} "
                     f"vs {', '.join(f'{t:.2f}' for t in times[(args.old, batch)])})")
    record_lines(f"Commits compared: {args.old} and {args.new}",
                 f"python benchmarks/commits.py {args.old} {args.new}", lines)


if __name__ == "__main__":
    main()

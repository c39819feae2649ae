"""densekit against Keras, scikit-learn and a hand-written PyTorch loop, side by side.

The tutorial network (784 → 128 relu → dropout 0.2 → 10, Adam lr 0.001) trains on the 60,000
Fashion-MNIST training images for 5 epochs at batch 32 and at batch 128; each tool runs in a
fresh child process (so peak memory is its own), the tools alternate, and each is repeated.
Prints seconds per epoch, test accuracy, peak memory and each peer's time relative to densekit,
and writes benchmarks/RESULTS.md.

    python benchmarks/speed.py [--repeats 2] [--epochs 5] [--tools densekit,sklearn,torch,torch-resident,keras]
    python benchmarks/speed.py --device cuda      # densekit and the PyTorch loops on a GPU

Keras runs in its own virtual environment (benchmarks/.peers, made on first use with
`pip install tensorflow-cpu`), never in densekit's; if it cannot be installed, it is reported
as missing and the others still run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import record  # noqa: E402  (benchmarks/results.py)

HERE = Path(__file__).resolve().parent
PEERS = HERE / ".peers"
TOOLS = ["densekit", "sklearn", "torch", "torch-resident", "keras"]
GPU_TOOLS = ["densekit", "torch", "torch-resident"]  # scikit-learn has no GPU path


# ------------------------------------------------------------------ workers (one per child)


def fashion():
    from densekit.config import DataConfig
    from densekit.data import load_source
    data = load_source(DataConfig(source="fashion-mnist"))
    return data.train.x, data.train.y, data.test.x, data.test.y


def work_densekit(batch: int, epochs: int, device: str) -> dict:
    import tempfile

    import densekit
    out = Path(tempfile.mkdtemp()) / "run"
    result = densekit.train(data__source="fashion-mnist", data__validation_split=0.0,
                            model__hidden=[128], model__dropout=0.2, train__optimizer="adam",
                            train__lr=0.001, train__batch_size=batch, train__epochs=epochs,
                            train__device=device, out=out, quiet=True)
    seconds = json.loads((out / "run.json").read_text())["train_seconds"]
    return {"epoch_seconds": seconds / epochs, "accuracy": result.metrics["test"]["accuracy"]}


def tutorial_network(device: str):
    import torch
    from torch import nn
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Dropout(0.2), nn.Linear(128, 10)).to(device)


def torch_accuracy(model, tx, ty, device: str) -> float:
    import torch
    model.eval()
    with torch.no_grad():
        pred = model(torch.tensor(tx, dtype=torch.float32, device=device) / 255).argmax(1).cpu().numpy()
    return float((pred == ty).mean())


def synchronise(device: str) -> None:
    import torch
    if device == "cuda":
        torch.cuda.synchronize()  # GPU work is queued: stop the clock when it is done


def work_torch(batch: int, epochs: int, device: str) -> dict:
    """The usual PyTorch loop: TensorDataset + DataLoader, autograd, torch.optim.Adam."""
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset
    x, y, tx, ty = fashion()
    model = tutorial_network(device)
    train = TensorDataset(torch.tensor(x, dtype=torch.float32) / 255, torch.tensor(y, dtype=torch.long))
    loader = DataLoader(train, batch_size=batch, shuffle=True)
    opt = torch.optim.Adam(model.parameters(), lr=0.001)
    started = time.perf_counter()
    for _ in range(epochs):
        model.train()
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            opt.zero_grad()
            nn.functional.cross_entropy(model(xb), yb).backward()
            opt.step()
    synchronise(device)
    seconds = time.perf_counter() - started
    return {"epoch_seconds": seconds / epochs, "accuracy": torch_accuracy(model, tx, ty, device)}


def work_torch_resident(batch: int, epochs: int, device: str) -> dict:
    """A careful hand-written loop: the data resident as tensors on the device, batches sliced
    from a permutation, fused Adam. What an experienced PyTorch user would write."""
    import torch
    from torch import nn
    x, y, tx, ty = fashion()
    model = tutorial_network(device)
    xs = torch.tensor(x, dtype=torch.float32, device=device).reshape(len(x), -1) / 255
    ys = torch.tensor(y, dtype=torch.long, device=device)
    opt = torch.optim.Adam(model.parameters(), lr=0.001, fused=True)
    started = time.perf_counter()
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(xs), device=device)
        for start in range(0, len(xs), batch):
            rows = order[start:start + batch]
            opt.zero_grad(set_to_none=True)
            nn.functional.cross_entropy(model(xs[rows]), ys[rows]).backward()
            opt.step()
    synchronise(device)
    seconds = time.perf_counter() - started
    return {"epoch_seconds": seconds / epochs, "accuracy": torch_accuracy(model, tx, ty, device)}


def work_sklearn(batch: int, epochs: int, device: str) -> dict:
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    x, y, tx, ty = fashion()
    clf = MLPClassifier(hidden_layer_sizes=(128,), solver="adam", learning_rate_init=0.001,
                        batch_size=batch, max_iter=epochs, alpha=0.0, random_state=0)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(x / 255.0, y)
    seconds = time.perf_counter() - started
    return {"epoch_seconds": seconds / epochs, "accuracy": float(clf.score(tx / 255.0, ty))}


KERAS_SCRIPT = """
import json, resource, sys, time, numpy as np, gzip
import keras
def idx(path):
    raw = gzip.open(path).read()
    n = int.from_bytes(raw[4:8], "big"); dims = raw[3]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * dims)
folder, batch, epochs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
x = idx(folder + "/train-images-idx3-ubyte.gz").reshape(-1, 28, 28) / 255.0
y = idx(folder + "/train-labels-idx1-ubyte.gz")
tx = idx(folder + "/t10k-images-idx3-ubyte.gz").reshape(-1, 28, 28) / 255.0
ty = idx(folder + "/t10k-labels-idx1-ubyte.gz")
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                          keras.layers.Dense(128, activation="relu"), keras.layers.Dropout(0.2),
                          keras.layers.Dense(10, activation="softmax")])
model.compile(optimizer=keras.optimizers.Adam(0.001), loss="sparse_categorical_crossentropy",
              metrics=["accuracy"])
started = time.perf_counter()
model.fit(x, y, batch_size=batch, epochs=epochs, verbose=0)
seconds = time.perf_counter() - started
accuracy = model.evaluate(tx, ty, verbose=0)[1]
print(json.dumps({"epoch_seconds": seconds / epochs, "accuracy": float(accuracy),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def peer_python() -> Path | None:
    """The Keras environment's interpreter, made on first use; None if it cannot be had."""
    python = PEERS / "bin" / "python"
    if python.exists():
        return python
    print("making the Keras environment (benchmarks/.peers): pip install tensorflow-cpu …", flush=True)
    made = subprocess.run([sys.executable, "-m", "venv", str(PEERS)]).returncode == 0 and subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "tensorflow-cpu"]).returncode == 0
    return python if made else None


def run_child(tool: str, batch: int, epochs: int, device: str) -> dict | None:
    if tool == "keras":
        python = peer_python()
        if python is None:
            return None
        from densekit.data.named import ensure_files
        folder = ensure_files("fashion-mnist")
        cmd = [str(python), "-c", KERAS_SCRIPT, str(folder), str(batch), str(epochs)]
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "tensorflow"}
    else:
        cmd = [sys.executable, __file__, "--worker", tool, "--batch", str(batch), "--epochs", str(epochs),
               "--device", device]
        env = dict(os.environ)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        print(f"{tool} failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------ the comparison


def measure(tools: list[str], batches: list[int], epochs: int, repeats: int, device: str) -> dict:
    results: dict = {(t, b): [] for t in tools for b in batches}
    for repeat in range(repeats):
        for batch in batches:
            for tool in tools:  # alternate, so a slow moment of the machine hits everyone
                figures = run_child(tool, batch, epochs, device)
                if figures:
                    results[(tool, batch)].append(figures)
                    print(f"  repeat {repeat + 1} batch {batch:4d} {tool:14s} "
                          f"{figures['epoch_seconds']:.3f} s/epoch  acc {figures['accuracy']:.4f}  "
                          f"peak {figures['peak_mb']:.0f} MB", flush=True)
    return results


def table(results: dict, tools: list[str], batches: list[int]) -> str:
    lines = ["| tool | batch | s/epoch (median) | × densekit | test accuracy | peak RSS MB |",
             "|---|---:|---:|---:|---:|---:|"]
    for batch in batches:
        base = results.get(("densekit", batch))
        base_s = statistics.median(r["epoch_seconds"] for r in base) if base else None
        for tool in tools:
            runs = results[(tool, batch)]
            if not runs:
                lines.append(f"| {tool} | {batch} | not run | | | |")
                continue
            s = statistics.median(r["epoch_seconds"] for r in runs)
            ratio = f"{s / base_s:.2f}" if base_s else "—"
            acc = statistics.median(r["accuracy"] for r in runs)
            peak = f"{max(r['peak_mb'] for r in runs):.0f}"
            if "gpu_peak_mb" in runs[0]:
                peak += f" (GPU {max(r['gpu_peak_mb'] for r in runs):.0f})"
            lines.append(f"| {tool} | {batch} | {s:.3f} | {ratio} | {acc:.4f} | {peak} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", choices=list(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=32, help=argparse.SUPPRESS)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--tools", help=f"default: {','.join(TOOLS)} ({','.join(GPU_TOOLS)} on cuda)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--batches", default="32,128")
    args = parser.parse_args()
    if args.worker:
        figures = WORKERS[args.worker](args.batch, args.epochs, args.device)
        figures["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        if args.device == "cuda":
            import torch
            figures["gpu_peak_mb"] = torch.cuda.max_memory_allocated() / 2**20
        print(json.dumps(figures))
        return
    default_tools = GPU_TOOLS if args.device == "cuda" else TOOLS
    tools = args.tools.split(",") if args.tools else default_tools
    batches = [int(b) for b in args.batches.split(",")]
    results = measure(tools, batches, args.epochs, args.repeats, args.device)
    text = table(results, tools, batches)
    print("\n" + text)
    write_results(text, args)


WORKERS = {"densekit": work_densekit, "sklearn": work_sklearn, "torch": work_torch,
           "torch-resident": work_torch_resident}


def write_results(text: str, args) -> None:
    heading, command = "Training speed: Fashion-MNIST, the tutorial network", "python benchmarks/speed.py"
    if args.device == "cuda":
        import torch
        heading += f", on a GPU ({torch.cuda.get_device_name()})"
        command += " --device cuda"
    record(heading, f"{command} --repeats {args.repeats} --epochs {args.epochs}",
           f"Measured {time.strftime('%Y-%m-%d')}.\n\n{text}")


if __name__ == "__main__":
    main()

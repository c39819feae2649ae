"""densekit serve under load, on 127.0.0.1 only, against a plain FastAPI + uvicorn endpoint
that runs the model row by row (what a user would write first).

    python benchmarks/serving.py            # needs wrk (apt-get install wrk) and fastapi
    python benchmarks/serving.py --short    # a third of the time per measurement

Models: Fashion-MNIST (784-128-10, one epoch) and a mixed table (numbers and categories, through
the saved encoder). For each server: requests/s and p50/p99 latency at 1, 8 and 32 connections
(wrk, one thread, single-row requests, every run bounded in seconds and in requests); latency at
about 1,000 requests/s (20 connections, each pausing 18 ms between requests); ONNX Runtime
against PyTorch per batch size; and 10,000 malformed requests mixed among 10,000 valid ones, every
valid answer checked against `densekit predict`'s. Targets: p99 < 15 ms at 1,000 req/s; at 32
connections, at least twice the baseline's throughput; every valid answer right under abuse.
Runs only when the 1-minute load is below 1.0 (it waits, then runs short and says so)."""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import record_lines  # noqa: E402  (benchmarks/results.py)

BASELINE = '''
import os
import numpy as np
import pandas as pd
from fastapi import FastAPI
from pydantic import BaseModel
import densekit

predictor = densekit.load(os.environ["BASELINE_RUN"])
app = FastAPI()


class Rows(BaseModel):
    rows: list[dict[str, float | str]] | list[list[float]]


@app.post("/predict")
def predict(request: Rows):
    answers = []
    for row in request.rows:   # row by row, as the model is called in a notebook
        x = pd.DataFrame([row]) if isinstance(row, dict) else np.asarray([row], dtype=np.float32)
        scores = predictor.scores(x)
        label = predictor.decode(scores)[0]
        answers.append({"label": label.item() if hasattr(label, "item") else label,
                        "probabilities": scores[0].tolist()})
    return {"predictions": answers}


@app.get("/health")
def health():
    return {"status": "ok"}
'''


# ------------------------------------------------------------ models


def mixed_table(rows: int = 5000) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"age": rng.integers(18, 80, rows), "income": rng.normal(50, 12, rows).round(2),
                          "city": rng.choice(["paris", "lyon", "nice", "lille", "brest"], rows),
                          "member": rng.choice(["yes", "no"], rows)})
    frame["label"] = np.where((frame.age > 40) ^ (frame.city == "nice"), "buy", "skip")
    return frame


def prepare(folder: Path) -> dict:
    """Train both models, export them (the server then starts on the exported graph)."""
    import densekit
    from densekit.exporting import export
    table = mixed_table()
    table.to_csv(folder / "mixed.csv", index=False)
    runs = {"fashion-mnist": densekit.train(data__source="fashion-mnist", train__epochs=1, quiet=True,
                                            out=str(folder / "fashion")).run_dir,
            "mixed table": densekit.train(data__source=str(folder / "mixed.csv"), data__label="label",
                                          train__epochs=3, quiet=True, out=str(folder / "mixed")).run_dir}
    for run in runs.values():
        export(run)
    return runs


def sample_rows(name: str, run: Path, count: int) -> pd.DataFrame:
    if name == "mixed table":
        return mixed_table(count + 100).drop(columns="label").tail(count).reset_index(drop=True)
    from densekit.config import DataConfig
    from densekit.data import load_source
    x = load_source(DataConfig(source="fashion-mnist")).test.x[:count]
    return pd.DataFrame(np.asarray(x).reshape(count, -1))


def bodies_of(rows: pd.DataFrame, by_name: bool) -> list[str]:
    if by_name:
        return [json.dumps({"rows": [r]}) for r in json.loads(rows.to_json(orient="records"))]
    return [json.dumps({"rows": [r]}) for r in rows.to_numpy().astype(int).tolist()]


# ------------------------------------------------------------ servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(command: list[str], port: int, env: dict | None = None) -> subprocess.Popen:
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, **(env or {})})
    deadline = time.time() + 180
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{command[:4]} exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{command[:4]} did not start")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()


def densekit_server(run: Path, port: int, *flags: str) -> subprocess.Popen:
    return start([sys.executable, "-m", "densekit.cli", "serve", str(run), "--port", str(port), *flags], port)


def baseline_server(run: Path, port: int, folder: Path) -> subprocess.Popen:
    (folder / "baseline_app.py").write_text(BASELINE)
    return start([sys.executable, "-m", "uvicorn", "baseline_app:app", "--port", str(port),
                  "--app-dir", str(folder), "--log-level", "warning", "--no-access-log"], port,
                 {"BASELINE_RUN": str(run)})


# ------------------------------------------------------------ wrk


LUA = '''
local bodies = {%s}
local i, count, limit = 0, 0, %d
request = function()
  i = i %% #bodies + 1
  return wrk.format("POST", "/predict", {["Content-Type"] = "application/json"}, bodies[i])
end
response = function(status, headers, body)
  count = count + 1
  if count >= limit then wrk.thread:stop() end
end
%s
'''


def wrk(port: int, bodies: list[str], connections: int, seconds: float, limit: int,
        folder: Path, pause_ms: int = 0) -> dict:
    """One wrk run: requests/s, p50/p99 (ms), errors. Bounded by `seconds` and by `limit`
    requests, a safety bound set well above what the server can answer in that time (wrk
    divides by the whole duration, so a run that reaches it would understate requests/s)."""
    pause = f"delay = function() return {pause_ms} end" if pause_ms else ""
    script = folder / "post.lua"
    script.write_text(LUA % (", ".join(f"[==[{b}]==]" for b in bodies), limit, pause))
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:.0f}s", "--latency", "--timeout", "5s",
               "-s", str(script), f"http://127.0.0.1:{port}/predict"]
    for attempt in (0, 1):
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
        if "Requests/sec" in done.stdout:
            result = parse_wrk(done.stdout)
            result["capped"] = result["requests"] >= limit
            return result
        print(f"wrk gave no figures (exit {done.returncode}): {done.stdout[-300:]} {done.stderr[-300:]}")
    raise RuntimeError("wrk failed twice")


def parse_wrk(out: str) -> dict:
    def ms(label: str) -> float:
        value, unit = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "requests": int(re.search(r"(\d+) requests in", out).group(1)),
            "p50": ms("50"), "p99": ms("99"),
            "errors": (int(non_2xx.group(1)) if non_2xx else 0)
                      + (sum(map(int, sockets.groups())) if sockets else 0)}


def line(result: dict) -> str:
    capped = " (request bound reached: req/s understated)" if result.get("capped") else ""
    return (f"{result['rps']:,.0f} req/s, p50 {result['p50']:.2f} ms, p99 {result['p99']:.2f} ms, "
            f"{result['requests']:,} requests, {result['errors']} errors{capped}")


# ------------------------------------------------------------ the abuse phase


MALFORMED = [
    ('{"rows": [{"age": ', "application/json"),                                     # broken JSON
    ('{"rows": [{"age": 30, "income": 50.2, "city": "nice"}]}', "application/json"),  # missing column
    ('{"rows": [{"age": 30, "income": 5, "city": "nice", "member": "no", "x": 1}]}', "application/json"),
    ('{"rows": [{"age": "old", "income": 5, "city": "nice", "member": "no"}]}', "application/json"),
    ('{"rows": [{"age": NaN, "income": 5, "city": "nice", "member": "no"}]}', "application/json"),
    ('{"rows": [[1, 2]]}', "application/json"),                                      # short row
    ("age,income\n1,2\n", "text/csv"),                                               # CSV lacking columns
    ('{"rows": [' + ",".join(['[30, 5, "nice", "no"]'] * 101) + "]}", "application/json"),  # > --max-rows 100
    ("<rows/>", "application/xml"),
    ("[" * 50_000, "application/json"),                                              # nesting bomb
]


def abuse(port: int, valid: list[str], expected: list[dict], malformed: int) -> dict:
    """`malformed` bad requests interleaved with as many valid ones over 32 connections; every
    valid answer compared with densekit predict's (label, probabilities within 1e-5)."""
    plan = [("bad", i % len(MALFORMED)) if i % 2 else ("good", (i // 2) % len(valid))
            for i in range(2 * malformed)]
    chunks = [plan[k::32] for k in range(32)]
    with ThreadPoolExecutor(32) as pool:
        outcomes = [o for part in pool.map(lambda c: client(port, c, valid), chunks) for o in part]
    wrong = sum(1 for kind, i, status, body in outcomes
                if kind == "good" and not (status == 200 and same_answer(body, expected[i])))
    bad_ok = sum(1 for kind, _, status, body in outcomes
                 if kind == "bad" and 400 <= status < 500 and "error" in json.loads(body))
    return {"valid": sum(1 for o in outcomes if o[0] == "good"), "wrong": wrong,
            "malformed": sum(1 for o in outcomes if o[0] == "bad"), "malformed_4xx": bad_ok}


def client(port: int, plan: list, valid: list[str]) -> list:
    connection, outcomes = None, []
    for kind, i in plan:
        body, content_type = (valid[i], "application/json") if kind == "good" else MALFORMED[i]
        for attempt in (0, 1):  # a 4xx may close the connection (uvicorn does after a 413)
            try:
                connection = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                connection.request("POST", "/predict", body, {"Content-Type": content_type})
                response = connection.getresponse()
                outcomes.append((kind, i, response.status, response.read()))
                if response.getheader("connection", "").lower() == "close":
                    connection.close()
                    connection = None
                break
            except (ConnectionError, http.client.HTTPException):
                connection = None
                if attempt:
                    outcomes.append((kind, i, 0, b"{}"))
    return outcomes


def same_answer(body: bytes, want: dict) -> bool:
    got = json.loads(body)["predictions"][0]
    probabilities = [got["probabilities"][k] for k in want["probabilities"]]
    return got["label"] == want["label"] and \
        np.abs(np.subtract(probabilities, list(want["probabilities"].values()))).max() <= 1e-5


def expected_answers(run: Path, rows: pd.DataFrame) -> list[dict]:
    """What `densekit predict` gives for each row (Predictor.frame, its code path)."""
    import densekit
    table = densekit.load(run).frame(rows)
    columns = [c for c in table.columns if c.startswith("prob_")]
    return [{"label": r["prediction"], "probabilities": {c[5:]: r[c] for c in columns}}
            for _, r in table.iterrows()]


# ------------------------------------------------------------ backends per batch size


def backend_times(run: Path) -> list[str]:
    from densekit.session.predict import Predictor
    from densekit.serve.backend import OnnxScores, TorchScores
    predictor = Predictor.load(run)
    backends = [TorchScores(predictor), OnnxScores(predictor, (run / "model.onnx").read_bytes())]
    x_all = sample_rows("fashion-mnist", run, 1024).to_numpy(np.float32)
    out = []
    for rows in (1, 8, 32, 128, 1024):
        x = x_all[:rows]
        times = {}
        for backend in backends:
            backend(x)
            repeats = max(20, 4000 // rows)
            start = time.perf_counter()
            for _ in range(repeats):
                backend(x)
            times[backend.name] = (time.perf_counter() - start) / repeats * 1e6
        out.append(f"{rows:>5} rows: ONNX Runtime {times['onnx']:,.0f} µs, PyTorch {times['torch']:,.0f} µs")
    return out


# ------------------------------------------------------------ main


def quiet_enough(waits: int, pause: float) -> tuple[bool, float]:
    for attempt in range(waits + 1):
        load = os.getloadavg()[0]
        if load < 1.0:
            return True, load
        if attempt < waits:
            print(f"1-minute load {load:.2f}: waiting {pause:.0f} s for a quieter machine")
            time.sleep(pause)
    return False, load


def measure(name: str, run: Path, folder: Path, seconds: float, abuse_count: int) -> list[str]:
    rows = sample_rows(name, run, 200)
    bodies = bodies_of(rows, by_name=name == "mixed table")
    lines, peak = [], {}
    for label, starter in (("densekit serve", lambda p: densekit_server(run, p)),
                           ("FastAPI baseline", lambda p: baseline_server(run, p, folder))):
        port = free_port()
        proc = starter(port)
        try:
            wrk(port, bodies, 8, 2, 40_000, folder)   # warm up
            for connections in (1, 8, 32):
                result = wrk(port, bodies, connections, seconds, int(seconds * 20_000), folder)
                peak[(label, connections)] = result["rps"]
                lines.append(f"{name}, {label}, {connections} connection(s): {line(result)}")
            if label == "densekit serve":
                steady = wrk(port, bodies, 20, seconds, int(seconds * 20_000), folder, pause_ms=18)
                lines.append(f"{name}, {label}, paced (20 connections, 18 ms pauses): {line(steady)}"
                             f" — target p99 < 15 ms at ~1,000 req/s")
        finally:
            stop(proc)
    ratio = peak[("densekit serve", 32)] / peak[("FastAPI baseline", 32)]
    lines.append(f"{name}: at 32 connections densekit serve has {ratio:.1f}× the baseline's "
                 "throughput (target ≥ 2×)")
    if abuse_count and name == "mixed table":
        lines.append(abuse_line(run, rows, bodies, abuse_count))
    return lines


def abuse_line(run: Path, rows: pd.DataFrame, bodies: list[str], count: int) -> str:
    port = free_port()
    proc = densekit_server(run, port, "--max-rows", "100", "--max-body-mb", "1")
    try:
        started = time.perf_counter()
        result = abuse(port, bodies, expected_answers(run, rows), count)
        seconds = time.perf_counter() - started
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", "/health")
        healthy = connection.getresponse().status == 200 and proc.poll() is None
    finally:
        stop(proc)
    return (f"abuse: {result['malformed']:,} malformed requests mixed with {result['valid']:,} valid "
            f"ones over 32 connections in {seconds:.0f} s: {result['malformed_4xx']:,} answered 4xx "
            f"with a message, {result['wrong']} valid answers wrong or missing, server "
            f"{'healthy' if healthy else 'NOT healthy'} afterwards")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="a third of the time per measurement")
    parser.add_argument("--seconds", type=float, default=10.0, help="per wrk run (10)")
    parser.add_argument("--malformed", type=int, default=10_000, help="bad requests in the abuse phase")
    args = parser.parse_args()
    quiet, load = quiet_enough(0 if args.short else 5, 60)
    seconds = max(2.0, args.seconds / 3) if args.short or not quiet else args.seconds
    folder = Path(tempfile.mkdtemp(prefix="densekit-serving-"))
    runs = prepare(folder)
    lines = [f"1-minute load at the start: {load:.2f}" + ("" if quiet else
             " (never below 1.0 while waiting: the short version ran, on a busy machine)"),
             "backend per batch size (Fashion-MNIST 784-128-10, one thread each):"]
    lines += ["  " + t for t in backend_times(runs["fashion-mnist"])]
    for name, run in runs.items():
        lines += measure(name, run, folder, seconds, args.malformed)
    lines.append("wrk 4.1 (one thread) on the same 2-core machine as the server; single-row requests; "
                 "densekit serve on ONNX Runtime with its defaults; the baseline is FastAPI + uvicorn, "
                 "a sync endpoint calling Predictor.scores once per row")
    record_lines("Serving under load", "python benchmarks/serving.py" + (" --short" if args.short else ""),
                 lines)


if __name__ == "__main__":
    main()

"""densekit serve: the real server on 127.0.0.1 with real HTTP requests. A served prediction
equals `densekit predict`'s; bad requests get a 4xx naming the problem and leave the server
answering; concurrent requests are batched; SIGTERM lets a request in flight finish."""

import asyncio
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("uvicorn")
pytest.importorskip("starlette")

import densekit  # noqa: E402
from densekit.serve.app import create_app  # noqa: E402
from densekit.serve.batching import MicroBatcher  # noqa: E402
from densekit.serve.inputs import Payload  # noqa: E402
from densekit.serve.schema import RequestError  # noqa: E402
from densekit.serve.settings import ServeSettings  # noqa: E402
from tests.helpers.deploy import feature_rows, predicted, train_run  # noqa: E402

TOLERANCE = 1e-5   # ONNX Runtime against PyTorch; the torch backend is exact


class Server:
    """uvicorn in a thread of the test process, on a socket bound before it starts."""

    def __init__(self, settings: ServeSettings):
        import uvicorn
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(create_app(settings), log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]})
        self.thread.start()
        deadline = time.time() + 30
        while not self.server.started:
            assert time.time() < deadline and self.thread.is_alive(), "the server did not start"
            time.sleep(0.02)

    def close(self):
        self.server.should_exit = True
        self.thread.join(30)
        self.sock.close()


def call(port, method, path, body=None, headers=None):
    """(status, parsed JSON or text) of one request on a fresh connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    if isinstance(body, (list, dict)):
        body = json.dumps(body)
        headers = {"Content-Type": "application/json", **(headers or {})}
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    data = response.read()
    connection.close()
    kind = response.getheader("content-type", "")
    return response.status, json.loads(data) if kind.startswith("application/json") else data.decode()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("serve")
    out = {kind: train_run(folder, kind) for kind in ("mixed", "digits", "multilabel", "regression", "text")}
    from densekit.exporting import export
    export(out["mixed"])   # RUN/model.onnx: the server's ONNX Runtime backend reads it
    return out


@pytest.fixture(scope="module")
def servers(runs):
    """The mixed table on ONNX Runtime (small limits, to reach them), the rest on PyTorch."""
    started = {"mixed": Server(ServeSettings(str(runs["mixed"]), max_rows=2000, max_body_mb=0.25))}
    for kind in ("digits", "multilabel", "regression", "text"):
        started[kind] = Server(ServeSettings(str(runs[kind]), backend="torch"))
    yield started
    for server in started.values():
        server.close()



def answers_as_table(predictions: list[dict], want: pd.DataFrame) -> tuple[list, np.ndarray]:
    """(labels or values, probabilities in predict's column order) from the server's answer."""
    first = predictions[0]
    if "value" in first:
        return [p["value"] for p in predictions], np.zeros((len(predictions), 0))
    names = [c[len("prob_"):] for c in want.columns if c.startswith("prob_")]
    probabilities = np.array([[p["probabilities"][n] for n in names] for p in predictions])
    labels = [p["label"] if "label" in p else sorted(p["labels"]) for p in predictions]
    return labels, probabilities


def expected_labels(want: pd.DataFrame, kind: str) -> list:
    if kind == "multilabel":
        flags = want[["sports", "news", "music"]]
        return [sorted(c for c in flags.columns if row[c] == 1) for _, row in flags.iterrows()]
    return want["prediction"].tolist()


@pytest.mark.parametrize("kind", ["mixed", "digits", "multilabel", "regression", "text"])
def test_a_served_prediction_equals_densekit_predict(kind, runs, servers, cli, tmp_path):
    rows = feature_rows(kind, runs[kind], 7, seed=3)
    want = predicted(cli, runs[kind], rows, tmp_path)
    port = servers[kind].port
    objects = json.loads(rows.to_json(orient="records"))
    arrays = json.loads(rows.to_json(orient="values"))
    forms = [(objects, None), ({"rows": arrays}, None),
             (rows.to_csv(index=False), {"Content-Type": "text/csv"})]
    if kind == "text":   # a text model also takes a plain list of texts
        forms.append((rows["review"].tolist(), None))
    for body, headers in forms:
        status, answer = call(port, "POST", "/predict", body, headers)
        assert status == 200, answer
        labels, probabilities = answers_as_table(answer["predictions"], want)
        if kind == "regression":
            assert np.abs(np.array(labels) - want["prediction"].to_numpy()).max() <= TOLERANCE
            continue
        assert [str(v) for v in labels] == [str(v) for v in expected_labels(want, kind)]
        columns = [c for c in want.columns if c.startswith("prob_")]
        assert np.abs(probabilities - want[columns].to_numpy()).max() <= TOLERANCE


def test_top_k_gives_the_most_probable_classes_first(servers, runs):
    rows = feature_rows("digits", runs["digits"], 2).to_numpy().tolist()
    status, answer = call(servers["digits"].port, "POST", "/predict?top_k=3", rows)
    assert status == 200
    for prediction in answer["predictions"]:
        values = list(prediction["probabilities"].values())
        assert len(values) == 3 and values == sorted(values, reverse=True)
        assert list(prediction["probabilities"])[0] == str(prediction["label"])


GOOD = {"age": 30, "income": 50.2, "city": "nice", "member": "yes"}
BAD_REQUESTS = [
    ('[{"age": 3', "application/json", 400, "not valid JSON"),
    ([{"age": 30, "income": 50.2, "city": "nice"}], None, 422, "lacks column(s) member"),
    ([dict(GOOD, colour="red")], None, 422, "unknown column(s) colour"),
    ([dict(GOOD, agee=1)], None, 422, "Did you mean 'age'"),
    ([dict(GOOD, age="thirty")], None, 422, "column 'age': expected a number, received text"),
    ('[{"age": NaN, "income": 1, "city": "nice", "member": "yes"}]', "application/json", 422,
     "not a finite number"),
    ([dict(GOOD, income=None)], None, 422, "missing value"),
    ([[30, 50.2, "nice"]], None, 422, "has 3 value(s) but the model takes 4"),
    ([GOOD] * 2001, None, 413, "at most 2,000 per request"),
    ("x" * 300_000, "application/json", 413, "at most 262,144"),
    ("age,income,city\n30,1,nice\n", "text/csv", 422, "CSV header lacks column(s) member"),
    ("[]", "application/json", 422, "no rows"),
    ('{"columns": []}', "application/json", 400, '{"rows": [...]}'),
    ("<xml/>", "application/xml", 415, "application/xml"),
]


@pytest.mark.parametrize("body, kind, status, message", BAD_REQUESTS,
                         ids=[m.split()[0] + str(i) for i, (_, _, _, m) in enumerate(BAD_REQUESTS)])
def test_a_bad_request_gets_a_4xx_naming_the_problem(servers, body, kind, status, message):
    port = servers["mixed"].port
    got, answer = call(port, "POST", "/predict", body, {"Content-Type": kind} if kind else None)
    assert got == status and message in answer["error"], answer
    assert call(port, "POST", "/predict", [GOOD])[0] == 200   # and the server answers on


def test_unknown_paths_and_methods_answer_json(servers):
    port = servers["mixed"].port
    assert call(port, "GET", "/nowhere")[0] == 404
    status, answer = call(port, "GET", "/predict")
    assert status == 405 and "GET is not allowed" in answer["error"]
    status, answer = call(port, "POST", "/predict?top_k=none", [GOOD])
    assert status == 422 and "top_k" in answer["error"]


def test_concurrent_requests_with_malformed_ones_among_them_all_get_their_answer(servers, runs, cli, tmp_path):
    rows = feature_rows("mixed", runs["mixed"], 40, seed=5)
    want = predicted(cli, runs["mixed"], rows, tmp_path)["prediction"].tolist()
    objects = json.loads(rows.to_json(orient="records"))
    port = servers["mixed"].port
    before = batch_count(port)

    def one(i):
        if i % 3 == 2:   # a malformed request between the good ones
            return "bad", call(port, "POST", "/predict", '[{"age": ', {"Content-Type": "application/json"})
        return i // 3 * 2 + i % 3, call(port, "POST", "/predict", [objects[(i // 3 * 2 + i % 3) % 40]])

    with ThreadPoolExecutor(32) as pool:
        results = list(pool.map(one, range(120)))
    for index, (status, answer) in results:
        if index == "bad":
            assert status == 400
        else:
            assert status == 200 and answer["predictions"][0]["label"] == want[index % 40]
    batches = batch_count(port) - before
    assert 0 < batches <= 80, batches   # 80 good requests; merged when they arrive together
    assert call(port, "GET", "/health")[1]["status"] == "ok"


def batch_count(port) -> float:
    text = call(port, "GET", "/metrics")[1]
    return float(next(l.split()[-1] for l in text.splitlines() if l.startswith("densekit_batch_rows_count")))


def test_metadata_and_metrics(servers, runs):
    port = servers["mixed"].port
    status, meta = call(port, "GET", "/metadata")
    assert status == 200 and meta["task"] == "binary" and meta["classes"] == ["buy", "skip"]
    assert meta["backend"] == "onnx" and len(meta["model_sha256"]) == 64
    assert {"name": "city", "type": "category", "nullable": False,
            "categories": ["lyon", "nice", "paris"]} in meta["features"]
    assert meta["limits"]["max_rows"] == 2000 and "densekit_version" in meta
    call(port, "POST", "/predict", [GOOD])
    text = call(port, "GET", "/metrics")[1]
    assert 'densekit_requests_total{endpoint="/predict",status="200"}' in text
    assert 'densekit_request_seconds_bucket{endpoint="/predict",le="0.015"}' in text
    assert "densekit_queue_depth" in text


def test_an_api_key_is_required_when_set(runs, monkeypatch):
    monkeypatch.setenv("DENSEKIT_API_KEY", "s3cret")
    server = Server(ServeSettings(str(runs["regression"]), backend="torch"))
    try:
        row = {"rows": [feature_rows("regression", runs["regression"], 1).iloc[0].tolist()]}
        assert call(server.port, "POST", "/predict", row)[0] == 401
        assert call(server.port, "POST", "/predict", row, {"Authorization": "Bearer wrong"})[0] == 401
        assert call(server.port, "GET", "/metadata")[0] == 401
        assert call(server.port, "POST", "/predict", row, {"Authorization": "Bearer s3cret"})[0] == 200
        assert call(server.port, "POST", "/predict", row, {"X-API-Key": "s3cret"})[0] == 200
        assert call(server.port, "GET", "/health")[0] == 200   # for load balancers, no key
    finally:
        server.close()


@pytest.mark.slow
def test_sigterm_answers_the_request_in_flight_then_exits_0(runs, tmp_path):
    """`densekit serve` in its own process: a request half sent when SIGTERM arrives is still
    answered, correctly; then the process ends cleanly."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "densekit.cli", "serve", str(runs["mixed"]),
                             "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    try:
        wait_for_health(port, proc)
        body = json.dumps([GOOD]).encode()
        client = socket.create_connection(("127.0.0.1", port), timeout=30)
        client.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                       b"Content-Length: %d\r\n\r\n" % len(body) + body[:10])
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        client.sendall(body[10:])
        reply = b""
        while not reply.endswith(b"}"):
            chunk = client.recv(65536)
            if not chunk:
                break
            reply += chunk
        client.close()
        assert reply.startswith(b"HTTP/1.1 200"), reply[:200]
        answer = json.loads(reply.split(b"\r\n\r\n", 1)[1])
        assert proc.wait(timeout=30) == 0
        out, err = proc.communicate()
        assert "stopped by signal 15" in out, (out, err)
        assert answer["predictions"][0]["label"] == densekit.load(runs["mixed"]).predict(
            pd.DataFrame([GOOD]))[0]  # the answer predict gives, not merely a label
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def wait_for_health(port, proc, timeout=90):
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            if call(port, "GET", "/health")[0] == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("densekit serve did not start")


# ------------------------------------------------------------ the batcher on its own


@pytest.mark.parametrize("inline_rows", [256, 0])   # on the event loop, or on the worker thread
def test_the_batcher_merges_isolates_a_failing_request_and_refuses_a_full_queue(inline_rows):
    calls = []

    def work(payloads):
        calls.append(len(payloads))
        if any(p.rows == "bad" for p in payloads):
            raise ValueError("bad rows")
        return [p.rows * p.count for p in payloads]

    async def scenario():
        batcher = MicroBatcher(work, max_rows=100, wait_s=0.0, max_queue=3, inline_rows=inline_rows)
        batcher.start()
        merged = await asyncio.gather(*(batcher.submit(Payload(r, 2)) for r in "xyz"))
        jobs = [batcher.submit(Payload(r, 1)) for r in ("a", "bad", "c")]
        results = await asyncio.gather(*jobs, return_exceptions=True)
        flood = [asyncio.ensure_future(batcher.submit(Payload("x", 1))) for _ in range(5)]
        done = await asyncio.gather(*flood, return_exceptions=True)
        await batcher.stop()
        return merged, results, done

    merged, results, flood = asyncio.run(scenario())
    assert merged == ["xx", "yy", "zz"] and calls[0] == 3     # three requests, one forward pass
    assert calls[1:4] == [3, 1, 1] and calls[4] == 1           # the failing batch, then each alone
    assert results[0] == "a" and results[2] == "c" and isinstance(results[1], ValueError)
    refused = [r for r in flood if isinstance(r, RequestError)]
    assert len(refused) == 2 and refused[0].status == 503
    assert [r for r in flood if r == "x"] == ["x"] * 3


def test_a_many_classes_run_answers_its_top_classes_as_predict_writes_them(cli, tmp_path):
    from densekit.errors import DensekitError
    from densekit.serve.model import ServedModel
    from tests.helpers.deploy import many_classes_run
    run = many_classes_run(tmp_path)
    rows = feature_rows("digits", run, 7, seed=3)
    want = predicted(cli, run, rows, tmp_path)
    server = Server(ServeSettings(str(run)))   # --backend auto: PyTorch for these outputs
    try:
        status, answer = call(server.port, "POST", "/predict?top_k=3", rows.to_numpy().tolist())
        assert status == 200, answer
        status, health = call(server.port, "GET", "/health")
    finally:
        server.close()
    assert health["backend"] == "torch"
    for prediction, row in zip(answer["predictions"], want.to_dict("records")):
        assert str(prediction["label"]) == str(row["prediction"]) and "values" not in prediction
        assert list(prediction["probabilities"]) == [str(row[f"top{i}"]) for i in (1, 2, 3)]
        got = list(prediction["probabilities"].values())
        assert np.abs(np.array(got) - [row["prob1"], row["prob2"], row["prob3"]]).max() <= 1e-6
    with pytest.raises(DensekitError, match="--backend torch"):
        ServedModel.load(run, backend="onnx")

"""Prometheus metrics (GET /metrics, the text exposition format): requests by endpoint and
status, their latency, rows predicted, batch sizes and the queue's depth. With --workers N,
each worker process counts its own requests."""

from __future__ import annotations

from typing import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

# Latency buckets around the target (p99 under 15 ms) and out to slow large requests.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 4096)
CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    def __init__(self, queue_depth: Callable[[], int]):
        self.registry = CollectorRegistry()
        self.requests = Counter("densekit_requests", "HTTP requests answered",
                                ["endpoint", "status"], registry=self.registry)
        self.latency = Histogram("densekit_request_seconds", "time from request to answer",
                                 ["endpoint"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.rows = Counter("densekit_predicted_rows", "rows predicted", registry=self.registry)
        self.batches = Histogram("densekit_batch_rows", "rows per forward pass",
                                 buckets=BATCH_BUCKETS, registry=self.registry)
        depth = Gauge("densekit_queue_depth", "requests waiting for a batch", registry=self.registry)
        depth.set_function(queue_depth)

    def observe(self, endpoint: str, status: int, seconds: float) -> None:
        self.requests.labels(endpoint, str(status)).inc()
        self.latency.labels(endpoint).observe(seconds)

    def batch(self, rows: int) -> None:
        self.rows.inc(rows)
        self.batches.observe(rows)

    def text(self) -> bytes:
        return generate_latest(self.registry)

"""`densekit serve`'s settings, with their defaults; passed to worker processes as JSON."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Optional

from densekit.errors import DensekitError

API_KEY_ENV = "DENSEKIT_API_KEY"
SETTINGS_ENV = "DENSEKIT_SERVE_SETTINGS"   # how --workers N hands the settings to each process


@dataclass
class ServeSettings:
    run: str
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    api_key: Optional[str] = None          # or DENSEKIT_API_KEY; None: no key asked
    backend: str = "auto"                  # auto (ONNX Runtime when installed) | onnx | torch
    onnx: Optional[str] = None             # an exported file to serve (default RUN/model.onnx if current)
    max_body_mb: float = 16.0              # larger bodies: 413 before they are read
    max_rows: int = 10_000                 # rows per request
    batch_rows: int = 2048                 # rows per forward pass, merged from requests
    batch_wait_ms: float = 2.0             # how long a batch waits for requests being read
    queue: int = 1024                      # requests waiting; beyond: 503
    graceful_s: float = 30.0               # SIGTERM: how long requests in flight may take

    def __post_init__(self):
        self.api_key = self.api_key or os.environ.get(API_KEY_ENV) or None
        checks = {"port": 0 <= self.port <= 65535, "workers": self.workers >= 1,
                  "max_body_mb": self.max_body_mb > 0, "max_rows": self.max_rows >= 1,
                  "batch_rows": self.batch_rows >= 1, "batch_wait_ms": 0 <= self.batch_wait_ms <= 1000,
                  "queue": self.queue >= 1, "graceful_s": self.graceful_s >= 0}
        bad = [k for k, ok in checks.items() if not ok]
        if bad:
            raise DensekitError(f"densekit serve: {bad[0]} = {getattr(self, bad[0])!r} is out of "
                                "range (ports 0-65535; counts 1 or more; times and sizes above 0).")

    @property
    def max_body_bytes(self) -> int:
        return int(self.max_body_mb * 1024 * 1024)

    @property
    def onnx_path(self) -> Optional[Path]:
        return Path(self.onnx) if self.onnx else None

    def limits(self) -> dict[str, Any]:
        """What /metadata tells clients (never the key)."""
        return {"max_body_bytes": self.max_body_bytes, "max_rows": self.max_rows,
                "batch_rows": self.batch_rows, "batch_wait_ms": self.batch_wait_ms,
                "queue": self.queue, "api_key_required": bool(self.api_key)}

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> "ServeSettings":
        return cls(**json.loads(os.environ[SETTINGS_ENV]))

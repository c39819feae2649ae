"""`densekit serve RUN`: the model behind HTTP (POST /predict, GET /health, /metadata, /metrics),
with micro-batching of concurrent requests, on uvicorn. `serve(settings)` blocks until SIGTERM or
Ctrl-C, lets the requests in flight finish, and returns the signal that stopped it."""

from __future__ import annotations

import os
import signal
from typing import Optional

from densekit.extras import require
from densekit.serve.settings import SETTINGS_ENV, ServeSettings

__all__ = ["ServeSettings", "serve", "app_from_env"]


def serve(settings: ServeSettings, log=print) -> Optional[int]:
    uvicorn = require(("uvicorn", "starlette", "prometheus_client"), "serve", "densekit serve")
    from densekit.serve.app import create_app
    options = dict(host=settings.host, port=settings.port, log_level="warning", access_log=False,
                   timeout_graceful_shutdown=settings.graceful_s, server_header=False)
    if settings.workers == 1:
        app = create_app(settings)  # loaded before the port opens: no request meets a cold model
        target, more = app, {}
    else:
        os.environ[SETTINGS_ENV] = settings.to_env()
        target, more = "densekit.serve:app_from_env", {"factory": True, "workers": settings.workers}
    log(f"serving {settings.run} on http://{settings.host}:{settings.port} "
        f"({settings.workers} worker(s)); POST /predict, GET /health /metadata /metrics")
    stopped: list[int] = []
    with own_signals(stopped):
        uvicorn.run(target, **options, **more)
    return stopped[-1] if stopped else None


def app_from_env():
    """A worker process's app (uvicorn --workers imports this by name)."""
    from densekit.serve.app import create_app
    return create_app(ServeSettings.from_env())


class own_signals:
    """uvicorn re-raises the signal that stopped it once it has shut down gracefully; with these
    handlers in place that re-raise is recorded rather than killing the process (or becoming a
    KeyboardInterrupt), so `densekit serve` exits 0 after a clean stop."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, stopped: list[int]):
        self.stopped, self.previous = stopped, {}

    def __enter__(self):
        for sig in self.SIGNALS:
            self.previous[sig] = signal.signal(sig, lambda s, _frame: self.stopped.append(s))
        return self

    def __exit__(self, *exc):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)

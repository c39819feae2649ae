"""The HTTP application (Starlette, served by uvicorn): POST /predict, GET /health,
/metadata and /metrics. Every client mistake is answered 4xx with {"error": "..."}; nothing a
request holds can take the server down or hold the event loop for long."""

from __future__ import annotations

import asyncio
import hmac
import json
import time
from contextlib import asynccontextmanager
from typing import Awaitable, Callable, Optional

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from densekit.errors import DensekitError
from densekit.logs import library_log
from densekit.serve.batching import MicroBatcher
from densekit.serve.inputs import parse
from densekit.serve.metrics import CONTENT_TYPE, Metrics
from densekit.serve.model import ServedModel
from densekit.serve.schema import RequestError
from densekit.serve.settings import ServeSettings

JSON = "application/json"
BIG_BODY = 256 * 1024   # parsed off the event loop above this size, so small requests keep flowing


def create_app(settings: ServeSettings, model: Optional[ServedModel] = None) -> Starlette:
    model = model or ServedModel.load(settings.run, settings.backend, settings.onnx_path)
    metrics: Metrics | None = None
    batcher: MicroBatcher | None = None

    @asynccontextmanager
    async def lifespan(app: Starlette):
        nonlocal batcher, metrics
        batcher = MicroBatcher(model.predict_batch, settings.batch_rows, settings.batch_wait_ms / 1000,
                               settings.queue)
        metrics = Metrics(lambda: batcher.depth)
        batcher.on_batch = metrics.batch
        batcher.start()
        yield
        await batcher.stop()  # uvicorn has let the requests in flight finish by now

    def endpoint(name: str, protected: bool = True):
        """Time the handler, count its answer, turn RequestError into its JSON answer."""
        def wrap(handler: Callable[[Request], Awaitable[Response]]):
            async def run(request: Request) -> Response:
                start = time.perf_counter()
                try:
                    if protected:
                        authorise(request, settings.api_key)
                    response = await handler(request)
                except RequestError as err:
                    response = error(err.status, err.message)
                except DensekitError as err:  # the Predictor's own checks, met in a batch
                    response = error(422, str(err))
                except Exception as err:  # noqa: BLE001 - a bug must answer 500, not kill the server
                    library_log(f"densekit serve: {name} failed: {err!r}")
                    response = error(500, f"internal error while answering {name}: {err}")
                metrics.observe(name, response.status_code, time.perf_counter() - start)
                return response
            return run
        return wrap

    @endpoint("/predict")
    async def predict(request: Request) -> Response:
        top_k = top_k_of(request)
        with batcher.arrival():
            body = await read_body(request, settings.max_body_bytes)
            kind = request.headers.get("content-type", "")
            if len(body) > BIG_BODY:
                payload = await asyncio.to_thread(parse, body, kind, model.schema, settings.max_rows)
            else:
                payload = parse(body, kind, model.schema, settings.max_rows)
        payload.top_k = top_k
        return Response(await batcher.submit(payload), media_type=JSON)

    @endpoint("/health", protected=False)
    async def health(request: Request) -> Response:
        return json_response({"status": "ok", "backend": model.backend, "queue": batcher.depth})

    @endpoint("/metadata")
    async def metadata(request: Request) -> Response:
        return json_response(model.metadata(settings.limits()))

    @endpoint("/metrics")
    async def metrics_text(request: Request) -> Response:
        return Response(metrics.text(), media_type=CONTENT_TYPE)

    routes = [Route("/predict", predict, methods=["POST"]),
              Route("/health", health, methods=["GET"]),
              Route("/metadata", metadata, methods=["GET"]),
              Route("/metrics", metrics_text, methods=["GET"])]
    return Starlette(routes=routes, lifespan=lifespan,
                     exception_handlers={HTTPException: http_error})


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused (413) as soon as it is known to exceed the limit."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large(int(declared), limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(size, limit)
        chunks.append(chunk)
    return b"".join(chunks)


def too_large(size: int, limit: int) -> RequestError:
    return RequestError(413, f"the body is {size:,} bytes or more; this server takes at most "
                             f"{limit:,} (--max-body-mb). Send fewer rows per request.")


def top_k_of(request: Request) -> Optional[int]:
    value = request.query_params.get("top_k")
    if value is None:
        return None
    if not value.isdigit() or int(value) < 1:
        raise RequestError(422, f"top_k must be a whole number of 1 or more; received {value!r}.")
    return int(value)


def authorise(request: Request, key: Optional[str]) -> None:
    if not key:
        return
    given = request.headers.get("x-api-key") or bearer(request.headers.get("authorization", ""))
    if not given or not hmac.compare_digest(given.encode(), key.encode()):
        raise RequestError(401, "missing or wrong API key: send it as 'Authorization: Bearer KEY' "
                                "or 'X-API-Key: KEY'.")


def bearer(header: str) -> str:
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def json_response(values: dict, status: int = 200) -> Response:
    return Response(json.dumps(values).encode(), status_code=status, media_type=JSON)


def error(status: int, message: str) -> Response:
    response = json_response({"error": message}, status)
    if status == 401:
        response.headers["www-authenticate"] = "Bearer"
    if status == 503:
        response.headers["retry-after"] = "1"
    return response


async def http_error(request: Request, exc: HTTPException) -> Response:
    """Starlette's own 404 and 405, as JSON like every other answer."""
    message = {404: f"no endpoint {request.url.path}; the endpoints are POST /predict, GET "
                    "/health, /metadata, /metrics.",
               405: f"{request.method} is not allowed on {request.url.path}."}
    return error(exc.status_code, message.get(exc.status_code, str(exc.detail)))

"""A publisher of dataset files on 127.0.0.1, for the download code's tests."""

import dataclasses
import hashlib
import http.server
import io
import threading

import numpy as np

from densekit.data.download import RemoteFile
from densekit.data.registry import REGISTRY


class Server:
    """Serves files from memory; honours Range; can cut one response short."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.requests: list[tuple[str, str]] = []  # (path, Range header)
        self.cut_after: int | None = None
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = server.files.get(self.path)
                server.requests.append((self.path, self.headers.get("Range", "")))
                if body is None:
                    self.send_error(404)
                    return
                start = int(self.headers["Range"].split("=")[1].rstrip("-")) if self.headers.get("Range") else 0
                self.send_response(206 if start else 200)
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                payload = body[start:]
                if server.cut_after is not None:
                    payload, server.cut_after = payload[:server.cut_after], None
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def npz_bytes(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def publish(server, monkeypatch, name: str, filename: str, body: bytes, published: bytes | None = None):
    """Serve `body`; the registry's checksum is that of `published` (default: the same bytes)."""
    server.files[f"/{name}/{filename}"] = body
    digest = hashlib.sha256(published if published is not None else body).hexdigest()
    set_files(monkeypatch, name, [RemoteFile(filename, "unused", digest)])


def set_files(monkeypatch, name: str, files: list[RemoteFile]):
    """The registry entry of `name`, publishing `files` instead, for this test only."""
    monkeypatch.setitem(REGISTRY, name, dataclasses.replace(REGISTRY[name], files=tuple(files)))

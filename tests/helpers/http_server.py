"""A local HTTP file server on 127.0.0.1 for download tests (never the network).

``server.routes[path] = (payload, mode)`` says what each path serves and how it misbehaves
(drop the connection, stall, fail once, ignore Range); ``server.log`` records (path, Range).
The fixtures ``server`` and ``_running_server`` (tests/conftest.py) hand it to tests.
"""

from __future__ import annotations

import hashlib
import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

PAYLOAD = np.random.default_rng(0).integers(0, 256, 200_000, dtype=np.uint8).tobytes()
SHA256 = hashlib.sha256(PAYLOAD).hexdigest()
MD5 = hashlib.md5(PAYLOAD).hexdigest()



class Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.routes[path] = (payload, mode)``; logs (path, Range header)."""

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 - name fixed by http.server
        server = self.server
        rng = self.headers.get("Range")
        server.log.append((self.path, rng))
        if self.path not in server.routes:
            self.send_error(404)
            return
        payload, mode = server.routes[self.path]
        nth = sum(1 for path, _ in server.log if path == self.path)
        if mode.startswith("drop") and nth == 1:  # announce everything, send half, hang up
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if mode == "stall_first" and nth == 1:  # send half, then hang until the client dies
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            server.release.wait(timeout=60)
            return
        if mode == "fail_first" and nth == 1:
            self.send_error(503)
            return
        if rng and mode != "drop_ignore_range":
            start = int(rng.removeprefix("bytes=").split("-")[0])
            if start >= len(payload):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(payload)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(payload) - 1}/{len(payload)}")
            self.send_header("Content-Length", str(len(payload) - start))
            self.end_headers()
            self.wfile.write(payload[start:])
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)



@contextmanager
def running_server() -> Iterator[http.server.ThreadingHTTPServer]:
    """A threaded HTTP server on a free 127.0.0.1 port; ``server.base`` is its URL."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def reset(httpd: http.server.ThreadingHTTPServer) -> http.server.ThreadingHTTPServer:
    """The server with empty routes and request log, and a fresh release event."""
    httpd.routes = {}
    httpd.log = []
    httpd.release = threading.Event()
    return httpd

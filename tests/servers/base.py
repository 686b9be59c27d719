"""A tiny loopback HTTP/1.1 server for wire doubles: routes, recorded requests, chunked streams.

Each API's shapes live in its own module (ollama.py, openai.py, ...); this file only
knows HTTP framing. Streams are sent with `Transfer-Encoding: chunked`, one chunk per
piece, flushed as they are produced, as the real services do.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Response:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    # A stream: each item is sent as one chunk; a float item sleeps that many seconds.
    stream: Iterable[bytes | float] | None = None

    @classmethod
    def json(cls, obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        h = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        return cls(status, h, json.dumps(obj).encode())

    @classmethod
    def text(
        cls, text: str, status: int = 200, content_type: str = "text/plain; charset=utf-8"
    ) -> Response:
        return cls(status, {"Content-Type": content_type}, text.encode())


Handler = Callable[[Recorded, "re.Match[str]"], Response]


class _QuietServer(ThreadingHTTPServer):
    """Clients that hang up early (timeout tests, a closed stream) are normal here: only
    other errors are printed."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


def sse(data: Any, event: str | None = None) -> bytes:
    """One server-sent-event record (`event:` line only when given)."""
    payload = data if isinstance(data, str) else json.dumps(data)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


def ndjson(obj: Any) -> bytes:
    return (json.dumps(obj) + "\n").encode()


class LoopbackServer:
    """Serve registered routes on 127.0.0.1:<free port> in a background thread."""

    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Send each stream piece at once (no 40 ms Nagle delay), as real servers do.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                url = urlsplit(self.path)
                rec = Recorded(
                    self.command,
                    url.path,
                    parse_qs(url.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                with server._lock:
                    server.requests.append(rec)
                response = server.dispatch(rec)
                self._send(response)

            def _send(self, response: Response) -> None:
                self.send_response(response.status)
                for key, value in response.headers.items():
                    self.send_header(key, value)
                if response.stream is None:
                    body = response.body or b""
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(body)
                    return
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                try:
                    for piece in response.stream:
                        if isinstance(piece, (int, float)):
                            time.sleep(piece)
                            continue
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                        self.wfile.flush()
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            do_GET = do_POST = do_HEAD = do_DELETE = _handle

        self._httpd = _QuietServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        """Later registrations win, so a test can override one route of a double."""
        self.routes.insert(0, (method, re.compile(pattern + r"\Z"), handler))

    def dispatch(self, rec: Recorded) -> Response:
        for method, pattern, handler in self.routes:
            if method in (rec.method, "*") or (method == "GET" and rec.method == "HEAD"):
                match = pattern.match(rec.path)
                if match:
                    return handler(rec, match)
        return self.not_found(rec)

    def not_found(self, rec: Recorded) -> Response:
        return Response.json({"error": f"no route for {rec.method} {rec.path}"}, status=404)

    def start(self) -> LoopbackServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def pieces(items: Iterable[bytes], delay: float = 0.0) -> Iterator[bytes | float]:
    """Interleave a delay between stream pieces."""
    for i, item in enumerate(items):
        if i and delay:
            yield delay
        yield item

"""A tiny loopback HTTP/1.1 server for wire doubles: routes, recorded requests, chunked streams.

Each API's shapes live in its own module (ollama.py, openai.py, ...); this file only
knows HTTP framing. Streams are sent with `Transfer-Encoding: chunked`, one chunk per
piece, flushed as they are produced, as the real services do.

Faults (`Fault`, queued on `server.faults`) break the next generation requests (POST) the
same way on every double: an error status, an HTML or empty or oversized body, a hang,
and, applied to the double's own stream, a malformed record, a cut, a reset connection,
an empty stream, or one JSON body instead of a stream. A double says where its first text
record is (`first_text`), how many records make its final event (`final_records`), how
its records are framed (`malformed_record`), its error body (`error_body`) and its
non-streaming form of a request (`unstreamed`).
"""

from __future__ import annotations

import json
import re
import socket
import struct
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
    # Drop the connection (TCP reset) after the stream's items instead of ending it.
    reset: bool = False

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

FAULT_KINDS = (
    "status",  # `status` with the double's error body (and `retry_after`, when given)
    "html",  # 200 with an HTML page, as a captive portal or a proxy answers
    "empty_body",  # 200, JSON content type, no body at all
    "oversized",  # `status` with an 8 MB HTML body
    "hang",  # accept the request, never answer (until the server stops)
    "malformed",  # a malformed record inserted before stream record `at`
    "cut",  # the stream ends cleanly after `at` records (negative: drop from the end)
    "reset",  # the connection is reset after `at` records
    "json_body",  # the non-streaming answer (one JSON body) to a streaming request
)


@dataclass
class Fault:
    kind: str
    status: int = 500
    at: int = 0
    retry_after: float | None = None

    def __post_init__(self) -> None:
        assert self.kind in FAULT_KINDS, self.kind


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
        self.faults: list[Fault] = []
        self._stopping = threading.Event()
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
                    if response.reset:
                        self._reset()
                        return
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            def _reset(self) -> None:
                # SO_LINGER 0: close() sends RST, as a crashed proxy or a dropped link does.
                linger = struct.pack("ii", 1, 0)
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                self.close_connection = True
                self.connection.close()

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
        if rec.method == "POST" and self.faults:
            with self._lock:
                fault = self.faults.pop(0) if self.faults else None
            if fault is not None:
                return self._faulty(fault, rec)
        return self._route(rec)

    def _route(self, rec: Recorded) -> Response:
        for method, pattern, handler in self.routes:
            if method in (rec.method, "*") or (method == "GET" and rec.method == "HEAD"):
                match = pattern.match(rec.path)
                if match:
                    return handler(rec, match)
        return self.not_found(rec)

    def not_found(self, rec: Recorded) -> Response:
        return Response.json({"error": f"no route for {rec.method} {rec.path}"}, status=404)

    # -- faults ---------------------------------------------------------------------------------

    first_text = 0  # index of the first stream record that carries text
    final_records = 1  # how many records at the end make the final event

    def malformed_record(self) -> bytes:
        return b'data: {"choices": [{"delta": {"content": "broken\n\n'

    def error_body(self, status: int, message: str) -> Any:
        return {"error": {"message": message, "type": "server_error", "code": None}}

    def unstreamed(self, rec: Recorded) -> Recorded:
        """The same request asking for one JSON answer instead of a stream."""
        body = json.loads(rec.body) if rec.body else {}
        body["stream"] = False
        return Recorded(rec.method, rec.path, rec.query, rec.headers, json.dumps(body).encode())

    def _faulty(self, fault: Fault, rec: Recorded) -> Response:
        if fault.kind == "status":
            headers = {} if fault.retry_after is None else {"retry-after": f"{fault.retry_after:g}"}
            message = f"fault injected: HTTP {fault.status}"
            return Response.json(self.error_body(fault.status, message), fault.status, headers)
        if fault.kind == "html":
            page = "<html><head><title>Sign in to the network</title></head><body></body></html>"
            return Response.text(page, 200, "text/html; charset=utf-8")
        if fault.kind == "empty_body":
            return Response(200, {"Content-Type": "application/json"}, b"")
        if fault.kind == "oversized":
            page = b"<html><body>" + b"overloaded\n" * 800_000 + b"</body></html>"
            return Response(fault.status, {"Content-Type": "text/html"}, page)
        if fault.kind == "hang":
            self._stopping.wait(60)
            return Response.text("too late", 504)
        if fault.kind == "json_body":
            return self._route(self.unstreamed(rec))
        answer = self._route(rec)
        assert answer.stream is not None, f"{fault.kind} needs a streamed answer: {answer.status}"
        records = [piece for piece in answer.stream if isinstance(piece, bytes)]
        if fault.kind == "malformed":
            records.insert(fault.at, self.malformed_record())
            return Response(answer.status, answer.headers, stream=records)
        kept = records[: fault.at]
        return Response(answer.status, answer.headers, stream=kept, reset=fault.kind == "reset")

    def start(self) -> LoopbackServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
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

"""OpenAI doubles for concurrency: one that answers out of order, one with fixed latency.

`GatedServer` holds each chat request until `group` of them are in flight at once, then
answers the group last-come first; a client that sends one request at a time leaves the
gate waiting (`gate_timeout_s`) and `max_in_flight` stays 1, so a test can prove
concurrency without timing anything. Both doubles echo the prompt back, so a test can
tell which answer belongs to which line.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from tests.servers.base import Recorded, Response
from tests.servers.openai import OpenAIServer


class EchoServer(OpenAIServer):
    """Answers with the last user message; `latency_s` before the first byte of each answer."""

    def __init__(self, latency_s: float = 0.0, **kwargs: Any) -> None:
        kwargs.setdefault("models", None)  # any model name is served
        super().__init__(**kwargs)
        self.latency_s = latency_s
        self._count_lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0

    def _tokens(self, body: dict[str, Any]) -> list[str]:
        user = [m for m in body.get("messages", []) if m.get("role") == "user"]
        words = str(user[-1]["content"]).split() if user else []
        tokens = [w if i == 0 else " " + w for i, w in enumerate(words)]
        limit = body.get("max_completion_tokens", body.get("max_tokens"))
        return tokens[:limit] if isinstance(limit, int) else tokens

    def _finish(self, tokens: list[str]) -> str:
        return "stop"

    def _chat(self, rec: Recorded, match: Any) -> Response:
        with self._count_lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        index = self.arrive(rec)
        response = super()._chat(rec, match)
        if self.latency_s:
            self.wait(self.latency_s)
        if response.stream is None:
            self.leave(index)
            return response
        response.stream = self._then_leave(response.stream, index)
        return response

    def arrive(self, rec: Recorded) -> int:
        """Called as each request arrives; returns its index (hook for GatedServer)."""
        return 0

    def wait(self, seconds: float) -> None:
        threading.Event().wait(seconds)

    def _then_leave(self, stream: Any, index: int) -> Iterator[bytes | float]:
        try:
            yield from stream
        finally:
            self.leave(index)

    def leave(self, index: int) -> None:
        with self._count_lock:
            self.in_flight -= 1


class GatedServer(EchoServer):
    def __init__(self, group: int, gate_timeout_s: float = 5.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.group = group
        self.gate_timeout_s = gate_timeout_s
        self._gate = threading.Condition()
        self.arrived = 0
        self._answered: set[int] = set()
        self.answer_order: list[int] = []  # arrival indices, in the order answers finished

    def arrive(self, rec: Recorded) -> int:
        with self._gate:
            index = self.arrived
            self.arrived += 1
            self._gate.notify_all()
            start = index - index % self.group
            end = start + self.group
            # The whole group in flight at once (or the input ran out) ...
            self._gate.wait_for(lambda: self.arrived >= end, self.gate_timeout_s)
            # ... then last-come first: every later member of the group answers before this one.
            later = range(index + 1, min(end, self.arrived))
            self._gate.wait_for(
                lambda: all(j in self._answered for j in later), self.gate_timeout_s
            )
        return index

    def leave(self, index: int) -> None:
        super().leave(index)
        with self._gate:
            self._answered.add(index)
            self.answer_order.append(index)
            self._gate.notify_all()

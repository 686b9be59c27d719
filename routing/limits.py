"""Per-provider limits on calls made at once and per minute, shared by every thread of a run.

    providers:
      openai: {max_concurrency: 4, requests_per_minute: 60, tokens_per_minute: 200000}

`max_concurrency` caps the calls in flight to that provider; `requests_per_minute` and
`tokens_per_minute` are sliding one-minute windows. Tokens are counted before the call
with the budget's estimate (input estimate + max_tokens or `estimate_output_tokens`) and
corrected to the real usage when it ends. A call that would overflow a window waits until
the oldest entry leaves it; a single call larger than the whole token window is let
through alone rather than blocked for ever. Limits bind within one process.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

WINDOW_S = 60.0


@dataclass
class Ticket:
    """One admitted call: what it holds, so `release()` gives back exactly that."""

    provider: str
    entry: list[float] | None = None  # [ts, tokens] in the provider's window, when counted
    holds_slot: bool = False


@dataclass
class _Provider:
    max_concurrency: int | None
    rpm: int | None
    tpm: int | None
    in_flight: int = 0
    window: deque[list[float]] = field(default_factory=deque)


class Limits:
    """Thread-safe admission for calls to each configured provider."""

    def __init__(
        self,
        settings: Mapping[str, Mapping[str, Any]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._cond = threading.Condition()
        self._providers: dict[str, _Provider] = {}
        for name, values in settings.items():
            found = {
                key: _positive_int(values, key, name)
                for key in ("max_concurrency", "requests_per_minute", "tokens_per_minute")
            }
            if any(v is not None for v in found.values()):
                self._providers[name] = _Provider(
                    found["max_concurrency"],
                    found["requests_per_minute"],
                    found["tokens_per_minute"],
                )

    def __bool__(self) -> bool:
        return bool(self._providers)

    def acquire(self, provider: str, tokens: int) -> Ticket:
        """Wait until a call of `tokens` to `provider` fits every limit, then admit it."""
        state = self._providers.get(provider)
        if state is None:
            return Ticket(provider)
        with self._cond:
            while True:
                wait = self._wait_for(state, tokens)
                if wait <= 0:
                    break
                # Woken early by a release; otherwise when the oldest entry ages out.
                self._cond.wait(None if wait == float("inf") else wait)
            ticket = Ticket(provider)
            if state.max_concurrency is not None:
                state.in_flight += 1
                ticket.holds_slot = True
            if state.rpm is not None or state.tpm is not None:
                ticket.entry = [self._clock(), float(tokens)]
                state.window.append(ticket.entry)
            return ticket

    def settle(self, ticket: Ticket, tokens: int) -> None:
        """Count the call's real tokens instead of its estimate."""
        if ticket.entry is not None:
            with self._cond:
                ticket.entry[1] = float(tokens)
                self._cond.notify_all()

    def release(self, ticket: Ticket) -> None:
        if not ticket.holds_slot:
            return
        state = self._providers[ticket.provider]
        with self._cond:
            state.in_flight -= 1
            ticket.holds_slot = False
            self._cond.notify_all()

    def wait_for(self, provider: str, tokens: int) -> float:
        """Seconds until a call of `tokens` to `provider` would be admitted (0: now)."""
        state = self._providers.get(provider)
        if state is None:
            return 0.0
        with self._cond:
            return self._wait_for(state, tokens)

    def _wait_for(self, state: _Provider, tokens: int) -> float:
        """0 when a call fits now; else seconds until it may (inf: until a slot frees)."""
        now = self._clock()
        window = state.window
        while window and now - window[0][0] >= WINDOW_S:
            window.popleft()
        if state.max_concurrency is not None and state.in_flight >= state.max_concurrency:
            return float("inf")
        if state.rpm is not None and len(window) >= state.rpm:
            return window[0][0] + WINDOW_S - now
        if state.tpm is not None and window:
            used = sum(entry[1] for entry in window)
            if used + tokens > state.tpm:
                return window[0][0] + WINDOW_S - now
        return 0.0


def _positive_int(values: Mapping[str, Any], key: str, provider: str) -> int | None:
    value = values.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        from convergio_llm.providers.errors import ConfigError

        raise ConfigError(f"providers.{provider}.{key} must be a positive integer (got {value!r})")
    return value

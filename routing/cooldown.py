"""Providers that asked to be left alone for a while, remembered on disk across processes.

A provider that answered 429 with a `retry-after`, 529/503 (overloaded), or a 5xx that
outlasted the retries is marked cooling down in `cooldown.json` in the cache folder,
next to the reachability probe's cache, until the time it asked for (or
`DEFAULT_COOLDOWN_S` when it named none). Every later process (a shell loop of
`llm run`) skips it and falls back at once instead of paying the same retries again:
routing leaves it out of the cloud chain with a trace entry, and `llm run` skips a
cooling target of a piped decision with an attempt saying why and until when.
`--no-cooldown` ignores the file. Like the probe cache the file is an optimisation:
written atomically, and a missing, corrupt or unwritable file reads as "nothing cooling".
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterable
from typing import NamedTuple

from convergio_llm.providers.errors import (
    LLMError,
    Overloaded,
    RateLimited,
    ServerError,
)

DEFAULT_COOLDOWN_S = 60.0
# However long a server asks, forget it after a day: a wrong clock must not ban it for ever.
MAX_COOLDOWN_S = 86400.0
FILE_NAME = "cooldown.json"
_LAST_PRINTABLE = 253402300800.0  # 10000-01-01: the first date strftime cannot print


class Cooldown(NamedTuple):
    provider: str
    until: float  # epoch seconds
    reason: str

    def to_json(self) -> dict[str, object]:
        return {"until": _iso(self.until), "reason": self.reason}


class CoolingDown(RateLimited):
    """Raised instead of calling a provider that is cooling down."""


def cooldown_file() -> str:
    from convergio_llm.providers.dirs import user_dir_str

    return os.path.join(user_dir_str("cache"), FILE_NAME)


def from_error(provider: str, error: LLMError, now: float | None = None) -> Cooldown | None:
    """The cooldown an attempt's error calls for, or None (most errors call for none)."""
    now = time.time() if now is None else now
    if isinstance(error, CoolingDown):
        return None
    retry_after = getattr(error, "retry_after", None)
    status = getattr(error, "status", None)
    if isinstance(error, RateLimited):
        if retry_after is None or not error.retryable:
            return None  # a 429 that names no wait, or a quota: waiting is not the answer
        reason = f"429 rate limited, retry-after {retry_after:g} s"
    elif isinstance(error, Overloaded):
        reason = f"{status or 529} overloaded"
    elif isinstance(error, ServerError) and isinstance(status, int) and status >= 500:
        reason = f"{status} server error after retries"
    else:
        return None
    seconds = DEFAULT_COOLDOWN_S if retry_after is None else float(retry_after)
    return Cooldown(provider, now + min(max(seconds, 0.0), MAX_COOLDOWN_S), reason)


def read(path: str, now: float | None = None) -> dict[str, Cooldown]:
    """The providers still cooling down at `now`; anything unreadable is skipped."""
    now = time.time() if now is None else now
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        found = {}
        for name, entry in data.items():
            until, reason = float(entry["until"]), str(entry["reason"])
            if until > now:
                if until >= _LAST_PRINTABLE:
                    # An edited file (`Infinity`, 1e300): no date to say it until, and
                    # refusing the call would fail printing one. A day, as the longest wait.
                    until = now + MAX_COOLDOWN_S
                found[str(name)] = Cooldown(str(name), until, reason)
        return found
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}


def write(path: str, cooldowns: Iterable[Cooldown], now: float | None = None) -> None:
    """Merge these into the file (the later `until` wins), dropping expired entries."""
    merged = read(path, now)
    for entry in cooldowns:
        known = merged.get(entry.provider)
        if known is None or entry.until > known.until:
            merged[entry.provider] = entry
    try:
        folder, name = os.path.split(path)
        os.makedirs(folder, exist_ok=True)
        tmp = os.path.join(folder, f".{name}.{os.getpid()}.{threading.get_ident()}")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(
                {c.provider: {"until": c.until, "reason": c.reason} for c in merged.values()}, fh
            )
        os.replace(tmp, path)  # atomic: a reader never sees half a file
    except OSError:
        pass  # a read-only cache folder only costs the retries next time


class Book:
    """This process's view of the file: read once, updated by its own threads' failures."""

    def __init__(self, path: str | None = None, now: float | None = None) -> None:
        self.path = path or cooldown_file()
        self._lock = threading.Lock()
        self._known = read(self.path, now)

    def active(self, provider: str, now: float | None = None) -> Cooldown | None:
        now = time.time() if now is None else now
        with self._lock:
            entry = self._known.get(provider)
        return entry if entry is not None and entry.until > now else None

    def note(self, provider: str, error: LLMError) -> Cooldown | None:
        """Mark `provider` when `error` calls for it; returns the cooldown it got."""
        entry = from_error(provider, error)
        if entry is None:
            return None
        with self._lock:
            known = self._known.get(provider)
            if known is None or entry.until > known.until:
                self._known[provider] = entry
            write(self.path, [entry])
        return entry

    def refusal(self, entry: Cooldown, now: float | None = None) -> CoolingDown:
        return refusal(entry, now)


def refusal(entry: Cooldown, now: float | None = None) -> CoolingDown:
    """The error that stands for a call not made to a provider cooling down."""
    now = time.time() if now is None else now
    left = max(0.0, entry.until - now)
    return CoolingDown(
        f"cooling down until {_iso(entry.until)} ({entry.reason}); skipped "
        "(--no-cooldown to try it anyway)",
        entry.provider,
        retry_after=left,
    )


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(epoch))

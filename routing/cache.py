"""The response cache: answers kept in `cache.db`, keyed by what determines them.

The key hashes (provider, model, messages, generation parameters). Only deterministic
requests (temperature 0 or a fixed seed) are cached unless the config says
`cache: {deterministic_only: false}`; entries expire after `ttl_days` (30 by default).
The cache is an optimisation: if its file is unusable it is skipped, never fatal. A
damaged entry (not the JSON this module writes) is a miss: it is deleted, and the first
one in a process is said once through `warn`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from convergio_llm.providers.base import Completion, Request, Timings, Usage

DEFAULT_TTL_DAYS = 30.0
_SCHEMA = """CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY, ts REAL NOT NULL, completion TEXT NOT NULL)"""


def _digest(obj: Any) -> str:
    text = json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _request_fields(request: Request) -> dict[str, Any]:
    # Metadata (ids, keep_alive) does not change the answer, so it is not part of the key.
    fields = request.to_json()
    fields.pop("metadata", None)
    return fields


def request_hash(request: Request) -> str:
    """The request's fingerprint for the ledger: the same prompt and parameters, the same hash."""
    return _digest(_request_fields(request))


def cache_key(provider: str, model: str, request: Request) -> str:
    return _digest({"provider": provider, "model": model, **_request_fields(request)})


def cache_path() -> Path:
    from convergio_llm.routing.paths import cache_dir

    return cache_dir() / "cache.db"


class ResponseCache:
    def __init__(
        self,
        path: Path | None = None,
        ttl_days: float = DEFAULT_TTL_DAYS,
        deterministic_only: bool = True,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.path = path or cache_path()
        self.warn = warn
        self._warned = False
        self.ttl_s = ttl_days * 86400
        self.deterministic_only = deterministic_only
        self._db: sqlite3.Connection | None = None
        self._broken = False

    def _connect(self) -> sqlite3.Connection | None:
        if self._db is None and not self._broken:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                # check_same_thread off: the finalizer below may run on whichever thread
                # collects the cache, which sqlite3 refuses by default.
                db = sqlite3.connect(
                    self.path, timeout=10, isolation_level=None, check_same_thread=False
                )
                if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    db.execute("PRAGMA journal_mode=WAL")
                db.execute(_SCHEMA)
                self._db = db
                weakref.finalize(self, db.close)
            except (OSError, sqlite3.Error):
                self._broken = True
        return self._db

    def wants(self, request: Request) -> bool:
        return request.deterministic or not self.deterministic_only

    def get(self, provider: str, model: str, request: Request) -> Completion | None:
        if not self.wants(request) or (db := self._connect()) is None:
            return None
        key = cache_key(provider, model, request)
        try:
            row = db.execute(
                "SELECT completion FROM responses WHERE key = ? AND ts >= ?",
                (key, time.time() - self.ttl_s),
            ).fetchone()
        except sqlite3.Error:
            return None
        if row is None:
            return None
        try:
            return _completion(json.loads(row[0]))
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
            self._repair(db, key)
            return None

    def _repair(self, db: sqlite3.Connection, key: str) -> None:
        """Drop a damaged entry (the call then runs and stores a good one) and say so once."""
        with contextlib.suppress(sqlite3.Error):
            db.execute("DELETE FROM responses WHERE key = ?", (key,))
        if not self._warned and self.warn is not None:
            self._warned = True
            self.warn(f"cache: a damaged entry in {self.path} was ignored and removed")

    def put(self, provider: str, model: str, request: Request, completion: Completion) -> None:
        if not self.wants(request) or (db := self._connect()) is None:
            return
        now = time.time()
        try:
            db.execute(
                "INSERT OR REPLACE INTO responses (key, ts, completion) VALUES (?, ?, ?)",
                (cache_key(provider, model, request), now, json.dumps(_stored(completion))),
            )
            db.execute("DELETE FROM responses WHERE ts < ?", (now - self.ttl_s,))
        except sqlite3.Error:
            return

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def _stored(completion: Completion) -> dict[str, Any]:
    usage = completion.usage
    return {
        "text": completion.text,
        "finish_reason": completion.finish_reason,
        "provider": completion.provider,
        "model": completion.model,
        "usage": {
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "cached_input_tokens": usage.cached_input_tokens,
            "reasoning_tokens": usage.reasoning_tokens,
            "source": usage.source,
        },
    }


_USAGE_INTS = ("input_tokens", "output_tokens", "cached_input_tokens", "reasoning_tokens")


def _completion(data: Any) -> Completion:
    """The stored answer; TypeError/KeyError when it is not what `_stored` wrote."""
    text, usage = data["text"], data["usage"]
    finish_reason = data.get("finish_reason")
    if not isinstance(text, str) or not isinstance(usage, dict):
        raise TypeError("not a stored completion")
    if not isinstance(data["provider"], str) or not isinstance(data["model"], str):
        raise TypeError("not a stored completion")
    if finish_reason is not None and not isinstance(finish_reason, str):
        raise TypeError("not a stored completion")
    if not all(type(usage.get(k, 0)) is int for k in _USAGE_INTS):
        raise TypeError("not a stored completion")
    # A cached answer took no generation time: its timings are zero, not the original's.
    return Completion(
        text=text,
        finish_reason=finish_reason,
        usage=Usage(**usage),
        timings=Timings(ttft_s=0.0, total_s=0.0),
        provider=data["provider"],
        model=data["model"],
        raw_stats={"cache_hit": True},
    )

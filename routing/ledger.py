"""The cost ledger: one SQLite row per attempt, shared safely by many `llm` processes.

`ledger.db` lives in the data dir, in WAL mode with a busy timeout, so parallel
`llm run` processes neither lose nor double a row. A budget check reserves its
estimated cost in the same write transaction that reads what was spent
(BEGIN IMMEDIATE), and the real cost replaces the reservation when the attempt
ends, so N racing processes on a budget that allows N calls let exactly N through.

Costs are stored as integer nano-dollars, so totals are exact sums. Never stored:
the prompt, the answer, or any key — only a hash of the request. Since schema 2 each
attempt also keeps how it was routed (the complexity score and label, the rule that
decided, and whether the target was local or cloud), so thresholds can be calibrated
on real traffic and an audit can say what left the machine and why.

Schema changes are migrations keyed by `PRAGMA user_version`; a ledger written by a
newer version of this program is refused, never rewritten. Every failure to read or
write it is a LedgerError (exit 1) that names the file and says how to go on.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import astuple, dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

from convergio_llm.providers.errors import BudgetExceeded, LLMError
from convergio_llm.routing.sqlite_schema import migrate

NANO = 1_000_000_000
BUSY_TIMEOUT_S = 30.0
# A reservation holds budget while the process that made it is alive (its pid is kept and
# checked); this is the backstop for one made on another host sharing the file.
RESERVATION_TTL_S = 3600.0

MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """CREATE TABLE attempts (
            id INTEGER PRIMARY KEY,
            ts REAL NOT NULL,
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            input_tokens INTEGER NOT NULL DEFAULT 0,
            output_tokens INTEGER NOT NULL DEFAULT 0,
            cached_input_tokens INTEGER NOT NULL DEFAULT 0,
            reasoning_tokens INTEGER NOT NULL DEFAULT 0,
            usage_source TEXT,
            cost_nusd INTEGER,
            latency_s REAL,
            ttft_s REAL,
            outcome TEXT NOT NULL,
            error_type TEXT,
            cache_hit INTEGER NOT NULL DEFAULT 0,
            request_hash TEXT,
            price_version TEXT
        )""",
        "CREATE INDEX attempts_ts ON attempts (ts)",
        "CREATE INDEX attempts_provider_ts ON attempts (provider, ts)",
        """CREATE TABLE reservations (
            id INTEGER PRIMARY KEY,
            ts REAL NOT NULL,
            provider TEXT NOT NULL,
            cost_nusd INTEGER NOT NULL
        )""",
    ),
    # 2: how each attempt was routed. Older rows keep NULL there: unknown, not "local".
    2: (
        "ALTER TABLE attempts ADD COLUMN route_score REAL",
        "ALTER TABLE attempts ADD COLUMN route_label TEXT",
        "ALTER TABLE attempts ADD COLUMN route_rule TEXT",
        "ALTER TABLE attempts ADD COLUMN locality TEXT",
    ),
    # 3: the reserving process, so a killed one's reservation stops holding the budget at once.
    3: ("ALTER TABLE reservations ADD COLUMN pid INTEGER",),
    # 4: a hold that outlives its process (a cloud batch, collected by another one, days
    # later): it counts until `held_until`, or until the batch's results settle it.
    4: ("ALTER TABLE reservations ADD COLUMN held_until REAL",),
}
SCHEMA_VERSION = max(MIGRATIONS)

T = TypeVar("T")


class LedgerError(LLMError):
    """The ledger cannot be read or written."""


def to_nano(usd: float | None) -> int | None:
    return None if usd is None else round(usd * NANO)


def from_nano(nusd: int | None) -> float | None:
    return None if nusd is None else nusd / NANO


@dataclass(frozen=True)
class Row:
    """One attempt. `cost_usd` None means the price was unknown."""

    provider: str
    model: str
    outcome: str  # ok | error | refused | interrupted
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    reasoning_tokens: int = 0
    usage_source: str | None = None
    cost_usd: float | None = None
    latency_s: float | None = None
    ttft_s: float | None = None
    error_type: str | None = None
    cache_hit: bool = False
    request_hash: str | None = None
    price_version: str | None = None
    ts: float = 0.0
    route_score: float | None = None  # the complexity score of the prompt (never its text)
    route_label: str | None = None
    route_rule: str | None = None  # the rule that decided: complexity, privacy, override...
    locality: str | None = None  # local | cloud


_COLUMNS = [f.name if f.name != "cost_usd" else "cost_nusd" for f in fields(Row)]


@dataclass(frozen=True)
class Window:
    """A budget limit to check: spend since `since` (for one provider, or all) must stay ≤ usd."""

    label: str
    since: float
    usd: float
    provider: str | None = None


class Ledger:
    def __init__(self, path: Path, timeout_s: float = BUSY_TIMEOUT_S) -> None:
        self.path = path
        self.timeout_s = timeout_s
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # The finalizer that closes it may run on another thread (whichever collects
            # the ledger: a concurrent run's worker), which sqlite3 refuses by default.
            self._db = sqlite3.connect(
                path, timeout=timeout_s, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            raise self._error(exc) from None
        # Closed when the ledger is collected, so no connection outlives its owner.
        self._closer = weakref.finalize(self, self._db.close)
        self._retry(self._prepare)

    def _error(self, exc: BaseException) -> LedgerError:
        text = str(exc)
        if "locked" in text or "busy" in text:
            return LedgerError(
                f"ledger {self.path} is locked by another process (waited {self.timeout_s:g} s); "
                "try again, or run `llm run --no-ledger` to go on without it"
            )
        if "full" in text or getattr(exc, "errno", None) == errno.ENOSPC:
            return LedgerError(
                f"ledger {self.path}: the disk is full ({text}); free some space, "
                "or run `llm run --no-ledger` to go on without it"
            )
        return LedgerError(
            f"ledger {self.path} is unreadable ({exc}); move it aside, "
            "or run `llm run --no-ledger` to go on without it"
        )

    def _retry(self, action: Callable[[], T]) -> T:
        """Run `action`, retrying while another process holds the lock (beyond the busy timeout
        SQLite can answer "locked" at once, e.g. while a fresh file switches to WAL)."""
        deadline = time.monotonic() + self.timeout_s
        delay = 0.005
        while True:
            try:
                return action()
            except sqlite3.OperationalError as exc:
                self._rollback()
                busy = "locked" in str(exc) or "busy" in str(exc)
                if not busy or time.monotonic() > deadline:
                    raise self._error(exc) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.1)
            except sqlite3.DatabaseError as exc:
                self._rollback()
                raise self._error(exc) from None

    def _rollback(self) -> None:
        if self._db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")

    def _prepare(self) -> None:
        # WAL makes NORMAL safe against a crashed process and spares an fsync per row.
        self._db.execute("PRAGMA synchronous=NORMAL")
        migrate(self._db, MIGRATIONS, self._refuse_newer)

    def _refuse_newer(self, version: int) -> None:
        if version > SCHEMA_VERSION:
            raise LedgerError(
                f"ledger {self.path} has schema version {version}, newer than this llm "
                f"understands ({SCHEMA_VERSION}); upgrade convergio-llm (the file was left as is)"
            )

    def close(self) -> None:
        self._closer()

    # -- writing -----------------------------------------------------------------

    def record(self, row: Row, reservation: int | None = None) -> None:
        """Add one attempt; when it settles a reservation, drop that in the same transaction."""
        values = list(astuple(row))
        values[_COLUMNS.index("cost_nusd")] = to_nano(row.cost_usd)
        values[_COLUMNS.index("ts")] = row.ts or time.time()
        values[_COLUMNS.index("cache_hit")] = int(row.cache_hit)
        insert = (
            f"INSERT INTO attempts ({', '.join(_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(_COLUMNS))})"
        )

        def write() -> None:
            self._db.execute("BEGIN IMMEDIATE")
            if reservation is not None:
                self._db.execute("DELETE FROM reservations WHERE id = ?", (reservation,))
            self._db.execute(insert, values)
            self._db.execute("COMMIT")

        self._retry(write)

    def reserve(
        self,
        provider: str,
        estimate_usd: float,
        windows: Sequence[Window],
        fit: Callable[[float], float] | None = None,
        held_until: float | None = None,
    ) -> int:
        """Hold `estimate_usd` against every window; BudgetExceeded if one would overflow.
        With `fit`, hold `fit(headroom)` instead: headroom is what the tightest window has
        left, read in the same transaction. With `held_until`, the hold belongs to no
        process: it lasts until then, or until release() (a batch collected later)."""

        def hold() -> int:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            now = time.time()
            self._drop_dead(now)
            used = [
                self._spent(w.since, w.provider) + self._reserved(now, w.provider) for w in windows
            ]
            estimate = to_nano(estimate_usd) or 0
            if fit is not None and windows:
                headroom = min(
                    (to_nano(w.usd) or 0) - u for w, u in zip(windows, used, strict=True)
                )
                estimate = to_nano(fit(headroom / NANO)) or 0
            for window, spent in zip(windows, used, strict=True):
                if spent + estimate > (to_nano(window.usd) or 0):
                    db.execute("ROLLBACK")
                    raise BudgetExceeded(
                        f"{window.label} budget: ${spent / NANO:.2f} of ${window.usd:.2f} used; "
                        f"this call may cost ${estimate / NANO:.4f} more"
                    )
            cursor = db.execute(
                "INSERT INTO reservations (ts, provider, cost_nusd, pid, held_until)"
                " VALUES (?, ?, ?, ?, ?)",
                (now, provider, estimate, None if held_until else os.getpid(), held_until),
            )
            db.execute("COMMIT")
            return int(cursor.lastrowid or 0)

        return self._retry(hold)

    def release(self, reservation: int) -> None:
        self._retry(
            lambda: self._db.execute("DELETE FROM reservations WHERE id = ?", (reservation,))
        )

    # -- reading -----------------------------------------------------------------

    def _spent(self, since: float, provider: str | None) -> int:
        where, args = _scope(provider)
        (total,) = self._db.execute(
            f"SELECT COALESCE(SUM(cost_nusd), 0) FROM attempts WHERE ts >= ?{where}",
            (since, *args),
        ).fetchone()
        return int(total)

    def _reserved(self, now: float, provider: str | None) -> int:
        """What running calls hold: a reservation whose process has died holds nothing."""
        where, args = _scope(provider)
        rows = self._db.execute(
            f"SELECT pid, ts, held_until, cost_nusd FROM reservations WHERE 1{where}", args
        ).fetchall()
        return sum(int(row[3]) for row in rows if _holds(row[0], row[1], row[2], now))

    def _drop_dead(self, now: float) -> None:
        """Delete reservations that hold nothing any more (in a write)."""
        rows = self._db.execute("SELECT id, pid, ts, held_until FROM reservations").fetchall()
        dead = [(rid,) for rid, pid, ts, until in rows if not _holds(pid, ts, until, now)]
        if dead:
            self._db.executemany("DELETE FROM reservations WHERE id = ?", dead)

    def spent(self, since: float, provider: str | None = None) -> float:
        """USD recorded since `since`, plus what running calls have reserved."""
        now = time.time()
        return (
            self._retry(lambda: self._spent(since, provider) + self._reserved(now, provider)) / NANO
        )

    def query(self, sql: str, args: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        """Read-only SQL over `attempts` for the reports."""
        return self._retry(lambda: self._db.execute(sql, tuple(args)).fetchall())


def _holds(pid: int | None, ts: float, held_until: float | None, now: float) -> bool:
    """Whether a reservation still holds budget: a batch's until its time is up, a call's
    while its process lives (and for RESERVATION_TTL_S at most)."""
    if held_until is not None:
        return float(held_until) >= now
    return ts >= now - RESERVATION_TTL_S and (pid is None or _alive(int(pid)))


def _alive(pid: int) -> bool:
    """Whether a process with this id runs on this host (signal 0 checks, sends nothing)."""
    if pid == os.getpid() or os.name == "nt":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, owned by someone else
        return True
    return True


def _scope(provider: str | None) -> tuple[str, tuple[str, ...]]:
    return ("", ()) if provider is None else (" AND provider = ?", (provider,))


def ledger_path() -> Path:
    from convergio_llm.routing.paths import data_dir

    return data_dir() / "ledger.db"


def open_ledger(path: Path | None = None, create: bool = True) -> Ledger | None:
    """The ledger, or None when it does not exist yet and `create` is False (nothing spent)."""
    path = path or ledger_path()
    if not create and not path.exists():
        return None
    return Ledger(path)

"""Conversations: every `llm run` starts or extends one, kept in SQLite beside the ledger.

`conversations.db` lives in the data dir next to `ledger.db`, in WAL mode with a busy
timeout, so parallel `llm run` processes can each add turns. Unlike the ledger it holds
prompts and answers (that is what a conversation is); `--no-log` keeps a run out of it.

Each conversation remembers the target that answered it (later turns stick to it) and
whether a turn carried private data: from then on it is `local_only`, and stays so. Schema
changes are migrations keyed by `PRAGMA user_version`; a newer file is refused, never
rewritten.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
import weakref
from pathlib import Path
from typing import NamedTuple

from convergio_llm.providers.errors import InputError, LLMError
from convergio_llm.routing.sqlite_schema import migrate

BUSY_TIMEOUT_S = 30.0
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """CREATE TABLE conversations (
            id TEXT PRIMARY KEY,
            created REAL NOT NULL,
            updated REAL NOT NULL,
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            local_only INTEGER NOT NULL DEFAULT 0,
            privacy TEXT NOT NULL DEFAULT ''
        )""",
        "CREATE INDEX conversations_updated ON conversations (updated)",
        """CREATE TABLE turns (
            id INTEGER PRIMARY KEY,
            cid TEXT NOT NULL REFERENCES conversations (id),
            ts REAL NOT NULL,
            prompt TEXT NOT NULL,
            response TEXT NOT NULL,
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            private INTEGER NOT NULL DEFAULT 0
        )""",
        "CREATE INDEX turns_cid ON turns (cid, id)",
    ),
}
SCHEMA_VERSION = max(MIGRATIONS)


class ConversationStoreError(LLMError):
    """The conversation store cannot be read or written (exit 1)."""


class Conversation(NamedTuple):
    id: str
    created: float
    updated: float
    provider: str
    model: str
    local_only: bool
    privacy: str  # why it went local ("" while it may use the cloud)
    turns: int


class Turn(NamedTuple):
    ts: float
    prompt: str
    response: str
    provider: str
    model: str
    private: bool


_CONVERSATION = (
    "SELECT c.id, c.created, c.updated, c.provider, c.model, c.local_only, c.privacy, "
    "(SELECT COUNT(*) FROM turns t WHERE t.cid = c.id) FROM conversations c"
)


class ConversationStore:
    def __init__(self, path: Path, timeout_s: float = BUSY_TIMEOUT_S) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # One store per run item, used by one thread; the finalizer that closes it may
            # run on another (a concurrent run's worker), which sqlite3 refuses by default.
            self._db = sqlite3.connect(
                path, timeout=timeout_s, isolation_level=None, check_same_thread=False
            )
            self._closer = weakref.finalize(self, self._db.close)
            self._migrate()
        except (OSError, sqlite3.Error) as exc:
            raise self._error(exc) from None

    def _error(self, exc: BaseException) -> ConversationStoreError:
        return ConversationStoreError(
            f"conversation store {self.path} is unreadable ({exc}); move it aside, "
            "or run `llm run --no-log` to go on without it"
        )

    def _migrate(self) -> None:
        self._db.execute("PRAGMA synchronous=NORMAL")  # safe in WAL mode; an fsync less a turn
        migrate(self._db, MIGRATIONS, self._refuse_newer)

    def _refuse_newer(self, version: int) -> None:
        if version > SCHEMA_VERSION:
            raise ConversationStoreError(
                f"conversation store {self.path} has schema version {version}, newer than "
                f"this llm understands ({SCHEMA_VERSION}); upgrade convergio-llm"
            )

    def close(self) -> None:
        self._closer()

    # -- reading -------------------------------------------------------------------

    def _conversations(self, where: str, args: tuple[object, ...]) -> list[Conversation]:
        try:
            rows = self._db.execute(f"{_CONVERSATION} {where}", args).fetchall()
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        return [Conversation(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6], r[7]) for r in rows]

    def get(self, cid: str) -> Conversation:
        """The conversation `cid`; InputError (exit 2) when there is none."""
        found = self._conversations("WHERE c.id = ?", (cid,))
        if not found:
            raise InputError(f"no conversation with id '{cid}' (see `llm logs`)")
        return found[0]

    def latest(self) -> Conversation:
        found = self.recent(1)
        if not found:
            raise InputError("no conversation to continue yet: run `llm run PROMPT` first")
        return found[0]

    def recent(self, limit: int) -> list[Conversation]:
        return self._conversations("ORDER BY c.updated DESC, c.rowid DESC LIMIT ?", (limit,))

    def turns(self, cid: str) -> list[Turn]:
        try:
            rows = self._db.execute(
                "SELECT ts, prompt, response, provider, model, private FROM turns "
                "WHERE cid = ? ORDER BY id",
                (cid,),
            ).fetchall()
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        return [Turn(r[0], r[1], r[2], r[3], r[4], bool(r[5])) for r in rows]

    # -- writing -------------------------------------------------------------------

    def add_turn(
        self, cid: str | None, turn: Turn, private_reason: str | None = None
    ) -> Conversation:
        """Append `turn` to conversation `cid` (a new one when None). A private turn makes
        the conversation local-only for good: the flag is only ever set, never cleared."""
        now = time.time()
        new = cid is None
        cid = cid or uuid.uuid4().hex[:12]
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            if new:
                db.execute(
                    "INSERT INTO conversations (id, created, updated, provider, model) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (cid, now, now, turn.provider, turn.model),
                )
            db.execute(
                "UPDATE conversations SET updated = ?, provider = ?, model = ? WHERE id = ?",
                (now, turn.provider, turn.model, cid),
            )
            if private_reason:
                db.execute(
                    "UPDATE conversations SET local_only = 1, privacy = ? "
                    "WHERE id = ? AND local_only = 0",
                    (private_reason, cid),
                )
            db.execute(
                "INSERT INTO turns (cid, ts, prompt, response, provider, model, private) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    cid,
                    turn.ts or now,
                    turn.prompt,
                    turn.response,
                    turn.provider,
                    turn.model,
                    int(turn.private),
                ),
            )
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise self._error(exc) from None
        return self.get(cid)


def store_path() -> Path:
    from convergio_llm.routing.paths import data_dir

    return data_dir() / "conversations.db"


def open_store(path: Path | None = None, create: bool = True) -> ConversationStore | None:
    """The store, or None when it does not exist yet and `create` is False."""
    path = path or store_path()
    if not create and not path.exists():
        return None
    return ConversationStore(path)

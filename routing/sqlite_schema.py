"""What the SQLite files in the data dir (ledger, conversations) share: WAL mode and
schema migrations keyed by `PRAGMA user_version`, run once by whichever process gets the
write lock first."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence


def migrate(
    db: sqlite3.Connection,
    migrations: Mapping[int, Sequence[str]],
    refuse_newer: Callable[[int], None],
) -> None:
    """Bring `db` to the newest version in `migrations`. `refuse_newer(version)` raises for a
    file written by a newer program, before anything in it is changed."""
    latest = max(migrations)
    version = db.execute("PRAGMA user_version").fetchone()[0]
    refuse_newer(version)
    if version == latest:
        return
    if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        db.execute("PRAGMA journal_mode=WAL")
    db.execute("BEGIN IMMEDIATE")
    try:
        # Another process may have migrated while this one waited for the lock.
        version = db.execute("PRAGMA user_version").fetchone()[0]
        refuse_newer(version)
        for step in range(version + 1, latest + 1):
            for statement in migrations[step]:
                db.execute(statement)
        db.execute(f"PRAGMA user_version = {latest}")
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise

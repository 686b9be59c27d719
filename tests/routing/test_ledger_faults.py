"""The ledger's faults are reported as what they are (issue 14.18): a lock held past the
busy timeout is "locked", a full disk is "full", neither is "unreadable … move it aside"."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from convergio_llm.routing.ledger import Ledger, LedgerError, Row


def test_a_locked_ledger_is_reported_as_locked(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    Ledger(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        ledger = Ledger(path, timeout_s=0.05)
        with pytest.raises(LedgerError) as info:
            ledger.record(Row("fake", "echo", "ok"))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    message = str(info.value)
    assert "is locked by another process (waited 0.05 s)" in message
    assert "unreadable" not in message and "move it aside" not in message


def test_a_full_disk_is_reported_as_a_full_disk(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.db")
    # SQLite's own way to make a database "full": no page beyond those it has.
    (pages,) = ledger._db.execute("PRAGMA page_count").fetchone()
    ledger._db.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(LedgerError) as info:
        for _ in range(10_000):
            ledger.record(Row("fake", "echo", "ok", request_hash="x" * 500))
    message = str(info.value)
    assert "the disk is full" in message and "move it aside" not in message

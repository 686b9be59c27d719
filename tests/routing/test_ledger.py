"""The ledger file: rows, exact totals, schema versions, damage, and what it never stores."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from convergio_llm.providers.base import Request
from convergio_llm.providers.errors import BudgetExceeded
from convergio_llm.providers.registry import Registry
from convergio_llm.routing.accounting import make_hooks
from convergio_llm.routing.config import parse_config
from convergio_llm.routing.context import Context
from convergio_llm.routing.decision import Decision
from convergio_llm.routing.execute import execute
from convergio_llm.routing.ledger import (
    RESERVATION_TTL_S,
    SCHEMA_VERSION,
    Ledger,
    LedgerError,
    Row,
    Window,
    ledger_path,
)


def rows(path: Path) -> list[sqlite3.Row]:
    db = sqlite3.connect(path)
    db.row_factory = sqlite3.Row
    try:
        return db.execute("SELECT * FROM attempts ORDER BY id").fetchall()
    finally:
        db.close()


def test_a_row_is_stored_with_every_field(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    ledger = Ledger(path)
    before = time.time()
    ledger.record(
        Row(
            "anthropic",
            "claude-haiku-4-5",
            "ok",
            input_tokens=120,
            output_tokens=30,
            cached_input_tokens=100,
            reasoning_tokens=7,
            usage_source="provider",
            cost_usd=0.000_28,
            latency_s=0.5,
            ttft_s=0.1,
            request_hash="abc",
            price_version="2026-11-26",
        )
    )
    after = time.time()
    ledger.close()
    (row,) = rows(path)
    assert (row["provider"], row["model"], row["outcome"]) == (
        "anthropic",
        "claude-haiku-4-5",
        "ok",
    )
    assert (row["input_tokens"], row["output_tokens"], row["cached_input_tokens"]) == (120, 30, 100)
    assert row["reasoning_tokens"] == 7
    assert row["usage_source"] == "provider"
    assert row["cost_nusd"] == 280_000  # $0.00028 in nano-dollars
    assert row["price_version"] == "2026-11-26"
    assert before <= row["ts"] <= after  # stamped when recorded, however slow the machine


def test_totals_are_exact_sums(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.db")
    for _ in range(1000):
        ledger.record(Row("fake", "echo", "ok", cost_usd=0.01))
    # 1,000 × $0.01 is exactly $10 (a float running sum would not be).
    assert ledger.spent(0) == 10.0


def test_wal_and_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    Ledger(path).close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_an_unversioned_file_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    sqlite3.connect(path).execute("CREATE TABLE unrelated (x)").connection.close()
    Ledger(path).record(Row("fake", "echo", "ok"))
    assert len(rows(path)) == 1


def test_a_newer_schema_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    Ledger(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    before = path.read_bytes()
    with pytest.raises(LedgerError, match="newer") as info:
        Ledger(path)
    assert "\n" not in str(info.value)
    assert path.read_bytes() == before


def test_a_corrupt_file_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    path.write_bytes(b"this is not a database, it is a shopping list\n" * 200)
    with pytest.raises(LedgerError) as info:
        Ledger(path)
    message = str(info.value)
    assert str(path) in message and "--no-ledger" in message and "\n" not in message


def test_reserve_refuses_what_would_overflow_and_settling_replaces_it(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.db")
    windows = [Window("daily", 0.0, 0.03)]
    first = ledger.reserve("fake", 0.01, windows)
    second = ledger.reserve("fake", 0.01, windows)
    ledger.record(Row("fake", "echo", "ok", cost_usd=0.01), first)
    ledger.record(Row("fake", "echo", "ok", cost_usd=0.01), second)
    ledger.reserve("fake", 0.01, windows)  # exactly reaches $0.03
    with pytest.raises(BudgetExceeded, match="daily budget"):
        ledger.reserve("fake", 0.01, windows)
    assert ledger.spent(0) == pytest.approx(0.03)


def test_per_provider_windows_only_count_that_provider(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.db")
    ledger.record(Row("openai", "gpt-4o", "ok", cost_usd=5.0))
    ledger.reserve("anthropic", 1.0, [Window("anthropic monthly", 0.0, 1.0, "anthropic")])
    with pytest.raises(BudgetExceeded):
        ledger.reserve("openai", 1.0, [Window("openai monthly", 0.0, 5.5, "openai")])


def test_a_dead_process_reservation_expires(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    ledger = Ledger(path)
    ledger.reserve("fake", 1.0, [Window("daily", 0.0, 1.0)])
    db = sqlite3.connect(path)
    db.execute("UPDATE reservations SET ts = ts - ?", (RESERVATION_TTL_S + 1,))
    db.commit()
    db.close()
    ledger.reserve("fake", 1.0, [Window("daily", 0.0, 1.0)])


def test_a_batch_hold_outlives_its_process_until_its_time_or_release(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    windows = [Window("monthly", 0.0, 1.0)]
    ledger = Ledger(path)
    hold = ledger.reserve("openai", 0.6, windows, held_until=time.time() + 86400)
    db = sqlite3.connect(path)
    # Older than a call's TTL and made by no process: a batch's hold still counts.
    db.execute("UPDATE reservations SET ts = ts - ?", (RESERVATION_TTL_S + 1,))
    db.commit()
    assert db.execute("SELECT pid FROM reservations").fetchone() == (None,)
    with pytest.raises(BudgetExceeded, match="monthly budget"):
        Ledger(path).reserve("openai", 0.6, windows)
    assert Ledger(path).spent(0) == pytest.approx(0.6)
    ledger.release(hold)
    assert Ledger(path).spent(0) == 0.0
    # Once its time is up it holds nothing, and the next write drops it.
    ledger.reserve("openai", 0.6, windows, held_until=time.time() + 86400)
    db.execute("UPDATE reservations SET held_until = ?", (time.time() - 1,))
    db.commit()
    assert Ledger(path).spent(0) == 0.0
    Ledger(path).reserve("openai", 0.6, windows)
    assert db.execute("SELECT COUNT(*) FROM reservations").fetchone() == (1,)
    db.close()


def test_the_prompt_and_answer_never_reach_the_ledger() -> None:
    config = parse_config('prices:\n  "fake:echo": {input_per_mtok: 1, output_per_mtok: 1}\n')
    context = Context(config, Registry(config.providers))
    secret = "zanzibar-platypus-4471"
    request = Request.from_prompt(f"please repeat {secret}")
    outcome = execute(
        Decision(request, "fake", "echo"), context.registry, hooks=make_hooks(context)
    )
    assert secret in outcome.completion.text
    data = b"".join(p.read_bytes() for p in ledger_path().parent.glob("ledger.db*"))
    assert data and secret.encode() not in data

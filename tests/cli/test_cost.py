"""`llm cost` after real `llm run` calls: figures worked out by hand, as table and JSON."""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from convergio_llm.routing.ledger import SCHEMA_VERSION, ledger_path
from tests.conftest import Result, assert_no_canary
from tests.conftest import llm as run_llm

# fake:echo at $1,000 per million tokens both ways; fake:lorem stays local and free.
CONFIG = """\
prices:
  "fake:echo": {input_per_mtok: 1000, output_per_mtok: 1000}
budgets: {monthly_usd: 1}
providers:
  anthropic: {models: {simple: claude-haiku-4-5, quality: claude-opus-4-5}}
"""
ECHO = "aaa bbb ccc ddd eee"  # 5 words in, 5 echoed out: $0.01


@pytest.fixture
def config(tmp_path: Path) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG)
    return str(path)


def llm(config: str, *args: str) -> Result:
    return run_llm("--config", config, *args)


@pytest.fixture
def traffic(config: str) -> str:
    """Two priced echo calls ($0.01 each) and one free local lorem call (1 in, 16 out)."""
    for _ in range(2):
        assert llm(config, "run", "-m", "fake:echo", "--max-tokens", "5", ECHO).code == 0
    assert llm(config, "run", "-m", "fake:lorem", "hello").code == 0
    return config


def cost_json(config: str, *args: str) -> Any:
    result = llm(config, "cost", "--json", *args)
    assert result.code == 0, result.stderr
    assert_no_canary(result.stdout, result.stderr)
    return json.loads(result.stdout)


def test_month_totals_by_day_provider_and_model(traffic: str) -> None:
    report = cost_json(traffic, "--month")
    assert report["schema"] == "convergio-llm/cost/v1"
    total = report["totals"]
    assert total["requests"] == 3
    assert (total["input_tokens"], total["output_tokens"]) == (5 + 5 + 1, 5 + 5 + 16)
    assert total["cost_usd"] == pytest.approx(0.02)
    assert total["avg_cost_per_request_usd"] == pytest.approx(0.02 / 3)
    models = {m["model"]: m for m in report["by_model"]}
    assert models["fake:echo"]["requests"] == 2
    assert models["fake:echo"]["cost_usd"] == pytest.approx(0.02)
    assert models["fake:lorem"]["cost_usd"] == 0.0
    assert [d["day"] for d in report["by_day"]] == [date.today().isoformat()]
    assert [p["provider"] for p in report["by_provider"]] == ["fake"]
    (monthly,) = report["budgets"]
    assert monthly["budget"] == "monthly"
    assert (monthly["used_usd"], monthly["left_usd"]) == (pytest.approx(0.02), pytest.approx(0.98))


def test_month_as_a_table(traffic: str) -> None:
    result = llm(traffic, "cost", "--month")
    assert result.code == 0
    text = result.stdout
    assert "fake:echo" in text and "fake:lorem" in text
    assert "$0.0200" in text  # two echo calls
    assert "$0.9800" in text  # budget left


def test_failed_attempts_have_their_own_column_and_no_average(config: str) -> None:
    """A model that never answered shows its failed attempts, not "0 requests, unknown"."""
    assert llm(config, "run", "-m", "fake:echo", ECHO).code == 0
    failed = llm(config, "run", "-m", "fake:fail", ECHO)
    assert failed.code != 0
    report = cost_json(config)
    models = {m["model"]: m for m in report["by_model"]}
    assert (models["fake:fail"]["requests"], models["fake:fail"]["failed_attempts"]) == (0, 1)
    text = llm(config, "cost").stdout
    header = next(line for line in text.splitlines() if line.startswith("model"))
    assert header.split()[:3] == ["model", "requests", "failed"]
    row = next(line for line in text.splitlines() if line.startswith("fake:fail"))
    assert row.split()[1:3] == ["0", "1"] and row.split()[-1] == "-"
    echo = next(line for line in text.splitlines() if line.startswith("fake:echo"))
    assert echo.split()[1:3] == ["1", "0"]


def test_what_if_prices_the_real_traffic_at_each_cloud_tier(traffic: str) -> None:
    w = cost_json(traffic, "--month", "--what-if", "--estimate", "1000")["what_if"]
    assert (w["requests"], w["local_requests"]) == (3, 3)
    assert w["actual_usd"] == pytest.approx(0.02)
    rows = {r["model"]: r for r in w["all_cloud"]}
    # Haiku 4.5 at $1/$5: 2 × (5×1 + 5×5) + (1×1 + 16×5) = 141 µ$
    haiku = rows["anthropic:claude-haiku-4-5"]
    assert "simple" in haiku["tiers"]
    assert haiku["cost_usd"] == pytest.approx(141e-6)
    assert haiku["saving_usd"] == pytest.approx(141e-6 - 0.02)
    assert haiku["per_1000_requests_usd"] == pytest.approx(141e-6 / 3 * 1000)
    assert haiku["estimate_usd"] == pytest.approx(141e-6 / 3 * 1000)
    # Opus 4.5 at $5/$25: 2 × (5×5 + 5×25) + (1×5 + 16×25) = 705 µ$
    opus = rows["anthropic:claude-opus-4-5"]
    assert opus["cost_usd"] == pytest.approx(705e-6)
    # The month so far scaled to 30 days.
    assert w["observed_days"] == date.today().day
    assert opus["monthly_cost_usd"] == pytest.approx(705e-6 * 30 / date.today().day)
    assert w["estimate_at_observed_mix_usd"] == pytest.approx(0.02 / 3 * 1000)


def test_what_if_as_a_table(traffic: str) -> None:
    result = llm(traffic, "cost", "--what-if", "--estimate", "1000")
    assert result.code == 0
    text = result.stdout
    assert "anthropic:claude-opus-4-5" in text
    assert "$0.0007" in text  # Opus: 705 µ$
    assert "$0.2350" in text  # Opus per 1,000 requests: 705 µ$ / 3 × 1,000
    assert "1,000 requests a month at the observed mix: $6.67" in text


def test_today_and_since_until_select_days(traffic: str) -> None:
    assert cost_json(traffic, "--today")["totals"]["requests"] == 3
    before = cost_json(traffic, "--since", "2020-01-01", "--until", "2020-01-31")
    assert before["totals"]["requests"] == 0
    assert cost_json(traffic, "--since", date.today().isoformat())["totals"]["requests"] == 3


def test_an_empty_ledger_reports_zero_and_creates_nothing(config: str) -> None:
    report = cost_json(config)
    assert report["totals"]["requests"] == 0
    assert report["totals"]["avg_cost_per_request_usd"] is None
    assert not ledger_path().exists()


@pytest.mark.parametrize(
    "args",
    [
        ("--since", "yesterday"),
        ("--today", "--month"),
        ("--since", "2026-02-01", "--until", "2026-01-01"),
    ],
)
def test_bad_periods_are_usage_errors(config: str, args: tuple[str, ...]) -> None:
    result = llm(config, "cost", *args)
    assert result.code == 2
    assert len(result.stderr.strip().splitlines()) == 1


def test_over_budget_run_exits_4_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG.replace("monthly_usd: 1", "daily_usd: 0.015"))
    first = run_llm("--config", str(path), "run", "-m", "fake:echo", "--max-tokens", "5", ECHO)
    second = run_llm("--config", str(path), "run", "-m", "fake:echo", "--max-tokens", "5", ECHO)
    assert first.code == 0
    assert second.code == 4
    (line,) = second.stderr.strip().splitlines()
    assert "daily budget" in line


def test_a_corrupt_ledger_is_one_line_and_never_blocks_no_ledger(config: str) -> None:
    path = ledger_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"garbage" * 1000)
    for args in (("cost",), ("run", "-m", "fake:echo", "hi")):
        result = llm(config, *args)
        assert result.code == 1
        (line,) = result.stderr.strip().splitlines()
        assert str(path) in line and "Traceback" not in line
    ok = llm(config, "run", "--no-ledger", "-m", "fake:echo", "still works")
    assert ok.code == 0
    assert ok.stdout == "still works\n"


def test_a_newer_ledger_is_refused_not_overwritten(config: str) -> None:
    assert llm(config, "run", "-m", "fake:echo", "hi").code == 0
    db = sqlite3.connect(ledger_path())
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    before = ledger_path().read_bytes()
    result = llm(config, "run", "-m", "fake:echo", "hi")
    assert result.code == 1
    assert "newer" in result.stderr
    assert ledger_path().read_bytes() == before

"""A budgeted call cannot spend more than is left (issue 14.8, 14.18): `max_tokens` is
capped to what the budget pays, reserved at the cap, settled after; parallel processes
stay within the budget; a killed process's reservation stops holding it; SIGTERM still
writes the attempt's ledger row."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from convergio_llm.routing.ledger import NANO, ledger_path
from tests.conftest import run_llm

# fake:lorem answers `words` words, one token each, cut at max_tokens. At $1,000 per
# million output tokens ($0.001 a token) and free input, 20 words cost $0.02.
CONFIG = (
    'prices:\n  "fake:lorem": {input_per_mtok: 0, output_per_mtok: 1000}\n'
    "providers:\n  fake: {words: 20}\n"
    "budgets: {monthly_usd: 0.01}\n"
)
COMMAND = [sys.executable, "-m", "convergio_llm.cli"]


def _config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG + extra)
    return path


def _ledger(query: str) -> list[tuple[object, ...]]:
    db = sqlite3.connect(ledger_path())
    try:
        return db.execute(query).fetchall()
    finally:
        db.close()


def _spent_nusd() -> int:
    ((total,),) = _ledger("SELECT COALESCE(SUM(cost_nusd), 0) FROM attempts")
    return int(total)  # type: ignore[call-overload]


def test_one_call_alone_is_capped_to_what_the_budget_pays(tmp_path: Path) -> None:
    result = run_llm("--config", str(_config(tmp_path)), "run", "-m", "fake:lorem", "hi")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.split()) == 10  # $0.01 buys 10 of the 20 words
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1 and "max_tokens capped to 10" in lines[0]
    assert _spent_nusd() == 10 * NANO // 1000  # exactly the budget, $0.01
    assert _ledger("SELECT COUNT(*) FROM reservations") == [(0,)]


def test_ten_parallel_runs_spend_no_more_than_the_budget(tmp_path: Path) -> None:
    config = _config(tmp_path)
    procs = [
        subprocess.Popen(
            [*COMMAND, "--config", str(config), "run", "-m", "fake:lorem", f"prompt {i}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for i in range(10)
    ]
    statuses, errors = [], []
    for proc in procs:
        _, err = proc.communicate()  # pytest-timeout bounds the test
        statuses.append(proc.returncode)
        errors.append(err.decode(errors="replace"))
    assert _spent_nusd() <= NANO // 100
    # Every refusal is a budget refusal (exit 4); anything else is reported with its stderr.
    unexpected = [(s, e) for s, e in zip(statuses, errors, strict=True) if s not in (0, 4)]
    assert not unexpected, unexpected
    assert statuses.count(0) >= 1
    assert _ledger("SELECT COUNT(*) FROM reservations") == [(0,)]


def _start_slow_call(tmp_path: Path) -> subprocess.Popen[bytes]:
    """A priced call that waits an hour before its first word, holding the whole budget."""
    slow = tmp_path / "slow.yaml"
    slow.write_text(CONFIG.replace("{words: 20}", "{words: 20, ttft_s: 3600}"))
    return subprocess.Popen(
        [*COMMAND, "--config", str(slow), "run", "-m", "fake:lorem", "hi"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _wait_for_reservation(proc: subprocess.Popen[bytes]) -> None:
    """Until the slow call has reserved (polled: the test asserts no timing)."""
    while not ledger_path().exists() or not _reservations():
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)


def _reservations() -> list[tuple[object, ...]]:
    try:
        return _ledger("SELECT pid FROM reservations")
    except sqlite3.OperationalError:  # not created yet
        return []


def test_a_killed_process_does_not_hold_the_budget(tmp_path: Path) -> None:
    config = _config(tmp_path)
    proc = _start_slow_call(tmp_path)
    try:
        _wait_for_reservation(proc)
    finally:
        proc.kill()
        proc.communicate()
    assert _reservations() == [(proc.pid,)]
    result = run_llm("--config", str(config), "run", "-m", "fake:lorem", "hi")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.split()) == 10
    assert _reservations() == []


def test_sigterm_writes_the_attempt_as_interrupted_and_settles(tmp_path: Path) -> None:
    proc = _start_slow_call(tmp_path)
    try:
        _wait_for_reservation(proc)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130
    assert err.decode().splitlines()[-1] == "llm: interrupted"
    rows = _ledger("SELECT provider, model, outcome, error_type, cost_nusd FROM attempts")
    # Charged what it had reserved (the cap), since what it generated is unknown.
    assert rows == [("fake", "lorem", "interrupted", "Interrupted", NANO // 100)]
    assert _reservations() == []

"""Many `llm run` processes writing one ledger at once: no row lost or doubled, no lock errors,
and a budget that allows N calls lets exactly N through however the processes interleave."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from convergio_llm.routing.ledger import ledger_path

PROCESSES = 8
REQUESTS = 200
# fake:echo at $1,000 per million tokens both ways: 5 words in, 5 echoed out = $0.01 a request.
CONFIG = 'prices:\n  "fake:echo": {input_per_mtok: 1000, output_per_mtok: 1000}\n'
PROMPT = "aaa bbb ccc ddd eee"


def race(config: Path, lines: int) -> list[tuple[int, bytes, bytes]]:
    """Start every process before waiting for any, so they all write at once."""
    # max_tokens 5 makes the pre-call estimate equal the real cost, so a budget is exact.
    jsonl = config.with_name("requests.jsonl")
    jsonl.write_text(
        "".join(
            json.dumps({"prompt": PROMPT, "id": f"q{i}", "max_tokens": 5}) + "\n"
            for i in range(lines)
        )
    )
    command = [sys.executable, "-m", "convergio_llm.cli", "--config", str(config)]
    command += ["run", "-m", "fake:echo", "--jsonl"]
    procs = []
    for _ in range(PROCESSES):
        with jsonl.open("rb") as stdin:
            procs.append(
                subprocess.Popen(
                    command, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE
                )
            )
    results = []
    for proc in procs:
        out, err = proc.communicate()
        results.append((proc.returncode, out, err))
    return results


def ledger_rows(query: str) -> list[tuple[object, ...]]:
    db = sqlite3.connect(ledger_path())
    try:
        return db.execute(query).fetchall()
    finally:
        db.close()


def test_parallel_runs_record_every_attempt_exactly_once(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    for status, out, err in race(config, REQUESTS):
        assert status == 0, err.decode()
        assert b"locked" not in err and b"busy" not in err
        answers = [json.loads(line) for line in out.splitlines()]
        assert len(answers) == REQUESTS
        assert all(a["cost_usd"] == 0.01 for a in answers)
    ((rows, nusd, tokens),) = ledger_rows(
        "SELECT COUNT(*), SUM(cost_nusd), SUM(input_tokens + output_tokens) FROM attempts"
    )
    assert rows == PROCESSES * REQUESTS == 1600
    assert nusd == 1600 * 10_000_000  # exactly $16.00
    assert tokens == 1600 * 10


def test_a_budget_for_n_requests_lets_exactly_n_through_the_race(tmp_path: Path) -> None:
    allowed = 13
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG + f"budgets: {{daily_usd: {allowed * 0.01:.2f}}}\n")
    results = race(config, 5)  # 40 requests compete for 13
    answered = 0
    for status, out, err in results:
        assert b"locked" not in err
        lines = [json.loads(line) for line in out.splitlines()]
        ok = [x for x in lines if x.get("schema") == "convergio-llm/completion/v1"]
        answered += len(ok)
        assert status == (0 if len(ok) == 5 else 4)
    assert answered == allowed
    assert ledger_rows("SELECT COUNT(*) FROM attempts WHERE outcome = 'ok'") == [(allowed,)]
    assert ledger_rows("SELECT COUNT(*) FROM reservations") == [(0,)]

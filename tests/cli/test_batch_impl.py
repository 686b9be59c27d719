"""cli/batch_impl.py: budgets and cooldowns hold for a cloud batch as for a single request.

The real openai (and anthropic) SDKs against the loopback batch doubles, as in
tests/cli/test_run_batch.py; the ledger is the real SQLite file in the test's data dir.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from typing import Any

import pytest

from convergio_llm.routing.cooldown import Cooldown, cooldown_file, write
from convergio_llm.routing.decide import Policy
from convergio_llm.routing.ledger import open_ledger
from tests.cli.test_run_batch import BATCH_COST, CONFIG, prompts, run_text
from tests.conftest import llm
from tests.servers.anthropic_batch import AnthropicBatchServer
from tests.servers.openai_batch import OpenAIBatchServer

# A short prompt is ~1 input token; a line without max_tokens is priced at the output
# estimate (4096 tokens): (1 * 0.25 + 4096 * 2.00) / 1e6 * 0.5 ≈ $0.0041 a line at the
# batch price. A $0.01 budget pays for two such lines, not three.
LINE_ESTIMATE = (1 * 0.25 + 4096 * 2.00) / 1e6 * 0.5
BUDGET = {**CONFIG, "budgets": {"monthly_usd": 0.01}}


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIBatchServer]:
    with OpenAIBatchServer() as double:
        monkeypatch.setenv("OPENAI_BASE_URL", double.url + "/v1")
        yield double


def run(
    config: dict[str, Any], lines: list[str] | None = None, **options: Any
) -> tuple[int, list[dict[str, Any]], str]:
    status, out, err = run_text(lines, config, **options)
    return status, [json.loads(x) for x in out.splitlines()], err


def submit(
    config: dict[str, Any], lines: list[str], **options: Any
) -> tuple[int, list[dict[str, Any]], str, list[str]]:
    options.setdefault("policy", Policy(model="openai:gpt-5-mini"))
    status, out, err = run(config, lines, jsonl=True, batch=True, **options)
    return status, out, err, re.findall(r"^llm: batch (\S+): \d+ line\(s\) submitted", err, re.M)


def held() -> float:
    """What the ledger counts against the budget now: spent plus reserved."""
    ledger = open_ledger()
    assert ledger is not None
    try:
        return ledger.spent(0.0)
    finally:
        ledger.close()


def test_a_batch_the_budget_cannot_pay_is_refused_before_anything_is_sent(
    server: OpenAIBatchServer,
) -> None:
    status, out, err, ids = submit(BUDGET, prompts("one", "two", "three"))
    assert status == 4 and ids == []
    assert [(o["id"], o["line"], o["error"]["type"]) for o in out] == [
        ("q0", 1, "BudgetExceeded"),
        ("q1", 2, "BudgetExceeded"),
        ("q2", 3, "BudgetExceeded"),
    ]
    assert {o["error"]["exit_code"] for o in out} == {4}
    assert "line(s) 1, 2, 3: batch to openai:gpt-5-mini refused: monthly budget" in err
    assert server.batches == {} and server.files == {}
    assert held() == 0.0


def test_a_submitted_batch_holds_its_estimate_until_its_results_settle_it(
    server: OpenAIBatchServer,
) -> None:
    status, _, err, ids = submit(BUDGET, prompts("one", "two"))
    assert status == 0 and len(ids) == 1, err
    # The hold outlives the submitting process (it ended: env.close()).
    assert held() == pytest.approx(2 * LINE_ESTIMATE, rel=1e-6)
    # Each line is sent with the output cap it was priced at.
    sent = server.files[server.batches[ids[0]]["input_file_id"]].decode().splitlines()
    bodies = [json.loads(x)["body"] for x in sent]
    assert [b.get("max_completion_tokens", b.get("max_tokens")) for b in bodies] == [4096, 4096]

    # A second batch would overrun what the first holds: refused, exit 4.
    status, out, _, again = submit(BUDGET, prompts("three"))
    assert status == 4 and again == [] and out[0]["error"]["type"] == "BudgetExceeded"

    server.finish(ids[0])
    status, out, _ = run(BUDGET, batch_results=ids[0])
    assert status == 0 and [o["id"] for o in out] == ["q0", "q1"]
    # The answers' real cost replaced the hold.
    assert held() == pytest.approx(2 * BATCH_COST, rel=1e-6)

    status, _, _, third = submit(BUDGET, prompts("three"))
    assert status == 0 and len(third) == 1


def test_a_failed_submit_releases_its_hold(
    server: OpenAIBatchServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong-key-0000")
    status, out, _, ids = submit(BUDGET, prompts("one"))
    assert status == 6 and ids == [] and out[0]["error"]["type"] == "AuthenticationError"
    assert held() == 0.0


def test_no_budget_no_hold(server: OpenAIBatchServer) -> None:
    status, _, _, ids = submit(CONFIG, prompts("one"))
    assert status == 0 and len(ids) == 1
    assert held() == 0.0


def cool(provider: str) -> None:
    write(
        cooldown_file(), [Cooldown(provider, 4_000_000_000.0, "429 rate limited, retry-after 99 s")]
    )


def test_a_target_cooling_down_is_not_batched(server: OpenAIBatchServer) -> None:
    cool("openai")
    status, out, err, ids = submit(CONFIG, prompts("one", "two"))
    assert ids == [] and server.batches == {}
    assert status == 5
    assert [o["error"]["type"] for o in out] == ["CoolingDown", "CoolingDown"]
    assert "cooling down until" in out[0]["error"]["message"]
    assert "line 1:" in err and "retry-after 99" in err

    # --no-cooldown ignores the file, as for a single request.
    status, _, _, ids = submit(CONFIG, prompts("one"), use_cooldown=False)
    assert status == 0 and len(ids) == 1


def test_a_cooling_target_falls_back_to_the_next_batch_target(
    server: OpenAIBatchServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with AnthropicBatchServer() as anthropic:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", anthropic.url)
        cool("anthropic")
        decision = {
            "schema": "convergio-llm/decision/v1",
            "id": "d1",
            "request": {"messages": [{"role": "user", "content": "fall back"}]},
            "provider": "anthropic",
            "model": "claude-haiku-4-5",
            "fallbacks": [{"provider": "openai", "model": "gpt-5-mini"}],
        }
        status, out, err, ids = submit(CONFIG, [json.dumps(decision)], policy=Policy())
        assert status == 0 and out == [] and len(ids) == 1, err
        assert "submitted to openai:gpt-5-mini" in err
        assert anthropic.batches == {}
        assert list(server.batches) == ids


def test_collecting_with_no_ledger_still_drops_the_hold(server: OpenAIBatchServer) -> None:
    _, _, _, ids = submit(BUDGET, prompts("one"))
    assert held() == pytest.approx(LINE_ESTIMATE, rel=1e-6)
    server.finish(ids[0])
    status, out, _ = run(BUDGET, batch_results=ids[0], use_ledger=False)
    assert status == 0 and out[0]["text"] == "answer to one"
    assert held() == 0.0


@pytest.mark.parametrize(
    ("record", "why"),
    [
        ("[1, 2]", "not a batch record"),
        ('{"a":' * 5000 + "1" + "}" * 5000, "nested too deep"),
        (b"\xff\xfe", "can't decode"),
    ],
    ids=["a-list", "nested", "binary"],
)
def test_a_damaged_batch_record_is_one_line_exit_2(record: str | bytes, why: str) -> None:
    from convergio_llm.routing import batches

    os.makedirs(batches.batches_dir(), exist_ok=True)
    with open(os.path.join(batches.batches_dir(), "b1.json"), "wb") as fh:
        fh.write(record if isinstance(record, bytes) else record.encode())
    for flag in ("--batch-status", "--batch-results"):
        done = llm("run", flag, "b1")
        assert done.code == 2 and done.stdout == ""
        assert done.stderr.startswith("llm: error: batch record ") and why in done.stderr
        assert len(done.stderr.splitlines()) == 1


@pytest.mark.parametrize("batch_id", ["", "   ", "x" * 5000])
def test_an_empty_or_overlong_batch_id_is_refused_in_one_line(batch_id: str) -> None:
    for flag in ("--batch-status", "--batch-results"):
        done = llm("run", flag, batch_id)
        assert done.code == 2
        assert done.stderr.startswith("llm: error: not a batch id") and len(done.stderr) < 200

"""`llm run --jsonl --batch` / `--batch-status` / `--batch-results`: the real openai SDK
against a loopback double of the Batch API (tests/servers/openai_batch.py); the bodies
run in-process with their own streams (cli/run_impl.py → cli/batch_impl.py)."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from convergio_llm.cli.batch_impl import BatchNotReady
from convergio_llm.cli.context import Environment
from convergio_llm.cli.exit_status import status_for
from convergio_llm.cli.run_impl import RunOptions, run_command
from convergio_llm.providers.errors import InputError
from convergio_llm.providers.registry import Registry
from convergio_llm.routing.config import Config
from convergio_llm.routing.context import Context
from convergio_llm.routing.decide import Policy
from tests.cli.test_ledger_race import ledger_rows
from tests.conftest import CANARY
from tests.servers.openai_batch import OpenAIBatchServer

# gpt-5-mini at $0.25 in, $2.00 out per Mtok (api.openai.com's price in prices.yaml); the
# double bills 1000 in and 2000 out per answer; the batch API takes 50 % off. The double is
# on loopback, which is nobody's price list (providers/prices.py): the config declares it
# cloud and gives it the vendor's price, as a user of a loopback gateway to OpenAI would.
BATCH_COST = (1000 * 0.25 + 2000 * 2.00) / 1e6 * 0.5
CONFIG = {
    "providers": {"openai": {"locality": "cloud"}},
    "prices": {
        "openai:gpt-5-mini": {"input_per_mtok": 0.25, "output_per_mtok": 2.0, "batch_discount": 0.5}
    },
}


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIBatchServer]:
    with OpenAIBatchServer() as double:
        # The real `openai` instance, pointed at the double: its prices still apply.
        monkeypatch.setenv("OPENAI_BASE_URL", double.url + "/v1")
        yield double


def run(lines: list[str] | None = None, **options: Any) -> tuple[int, list[dict[str, Any]], str]:
    status, out, err = run_text(lines, **options)
    return status, [json.loads(x) for x in out.splitlines()], err


def run_text(
    lines: list[str] | None = None, config: dict[str, Any] | None = None, **options: Any
) -> tuple[int, str, str]:
    """`run_command` in-process on its own streams, under `config` (CONFIG by default)."""
    cfg = Config(data=CONFIG if config is None else config)
    stdin = "".join(line + "\n" for line in lines or [])
    env = Environment(
        stdin=io.BytesIO(stdin.encode("utf-8", "surrogateescape")),
        stdout=io.StringIO(),
        stderr=io.StringIO(),
        environ={},
        _config=cfg,
        _routing=Context(cfg, Registry(cfg.providers, load_plugins=False)),
    )
    try:
        status = run_command(env, RunOptions(**options))
    finally:
        env.close()
    out = env.stdout.getvalue()  # type: ignore[attr-defined]
    err = env.stderr.getvalue()  # type: ignore[attr-defined]
    assert CANARY not in out and CANARY not in err
    return status, out, err


def submit(lines: list[str]) -> tuple[int, list[dict[str, Any]], str, str]:
    return submit_to("openai:gpt-5-mini", lines)


def submit_to(model: str, lines: list[str]) -> tuple[int, list[dict[str, Any]], str, str]:
    """Submit the lines with -m model; the batch id from the one stderr line that names it."""
    status, out, err = run(lines, jsonl=True, batch=True, policy=Policy(model=model))
    ids = re.findall(r"^llm: batch (\S+): \d+ line\(s\) submitted", err, re.M)
    assert len(ids) == 1, err
    return status, out, err, ids[0]


def prompts(*texts: str) -> list[str]:
    return [json.dumps({"id": f"q{i}", "prompt": t}) for i, t in enumerate(texts)]


def test_submit_poll_collect_in_input_order_at_the_batch_price(server: OpenAIBatchServer) -> None:
    status, out, err, batch_id = submit(prompts("one", "two", "three"))
    assert status == 0 and out == []
    sent = [
        json.loads(x)
        for x in server.files[server.batches[batch_id]["input_file_id"]].split(b"\n")
        if x
    ]
    assert [x["custom_id"] for x in sent] == ["line-1", "line-2", "line-3"]
    assert {x["url"] for x in sent} == {"/v1/chat/completions"}
    assert [x["body"]["messages"][-1]["content"] for x in sent] == ["one", "two", "three"]

    status, out, _ = run(batch_status=batch_id, json_out=True)
    assert status == 0
    assert out[0]["state"] == "in_progress" and out[0]["provider_state"] == "in_progress"
    assert out[0]["counts"] == {"total": 3, "completed": 0, "failed": 0}

    with pytest.raises(BatchNotReady, match=r"still in_progress .*try again later") as early:
        run(batch_results=batch_id)
    assert status_for(early.value) == 1

    server.finish(batch_id)
    status, out, err = run(batch_results=batch_id)
    assert status == 0, err
    assert [o["id"] for o in out] == ["q0", "q1", "q2"]
    assert [o["text"] for o in out] == ["answer to one", "answer to two", "answer to three"]
    assert {o["schema"] for o in out} == {"convergio-llm/completion/v1"}
    assert all(o["cost_usd"] == pytest.approx(BATCH_COST) for o in out)
    rows = ledger_rows("SELECT provider, model, cost_nusd, price_version FROM attempts")
    assert len(rows) == 3
    assert all(r[2] == round(BATCH_COST * 1e9) for r in rows)
    assert all(str(r[3]).endswith("+batch") for r in rows)

    # Collected again (another process, later): the same answers, no second ledger entry.
    status, again, _ = run(batch_results=batch_id)
    assert status == 0 and again == out
    assert len(ledger_rows("SELECT 1 FROM attempts")) == 3


def test_private_lines_are_refused_by_number_and_never_sent(server: OpenAIBatchServer) -> None:
    card = "charge my card 4111 1111 1111 1111 please"
    status, out, err, batch_id = submit(prompts("fine", card, "also fine", card))
    assert status == 3
    assert [(o["id"], o["line"]) for o in out] == [("q1", 2), ("q3", 4)]
    assert {o["error"]["type"] for o in out} == {"NoProviderAvailable"}
    assert "line(s) 2, 4: private, refused from a cloud batch" in err
    sent = server.files[server.batches[batch_id]["input_file_id"]].decode()
    assert "4111" not in sent
    assert [json.loads(x)["custom_id"] for x in sent.splitlines()] == ["line-1", "line-3"]


def test_per_request_errors_and_expiry_become_error_objects_in_order(
    server: OpenAIBatchServer,
) -> None:
    _, _, _, batch_id = submit(prompts("a", "FAIL b", "c", "d"))
    server.finish(batch_id, "expired", ran=3)
    status, out, err = run(batch_results=batch_id)
    assert [o["id"] for o in out] == ["q0", "q1", "q2", "q3"]
    assert [o["schema"].rsplit("/", 2)[1] for o in out] == [
        "completion",
        "error",
        "completion",
        "error",
    ]
    assert (
        out[1]["error"]["type"] == "BadRequest"
        and "FAIL is not allowed" in out[1]["error"]["message"]
    )
    assert (
        "could not be executed before the completion window expired" in out[3]["error"]["message"]
    )
    assert status == 1
    assert "line 2:" in err and "line 4:" in err


def test_a_failed_batch_gives_every_line_its_error(server: OpenAIBatchServer) -> None:
    _, _, _, batch_id = submit(prompts("a", "b"))
    server.finish(batch_id, "failed")
    status, out, _ = run(batch_status=batch_id, json_out=True)
    assert status == 0 and out[0]["state"] == "failed" and out[0]["message"] == "model not found"
    status, out, _ = run(batch_results=batch_id)
    assert [(o["id"], o["line"]) for o in out] == [("q0", 1), ("q1", 2)]
    assert all("failed: model not found" in o["error"]["message"] for o in out)
    assert status != 0


def test_an_unknown_batch_id_is_one_line_exit_2(server: OpenAIBatchServer) -> None:
    with pytest.raises(InputError, match="unknown batch batch_nope") as caught:
        run(batch_results="batch_nope")
    assert status_for(caught.value) == 2


def test_a_line_whose_routing_has_no_cloud_batch_api_is_an_error_object(
    server: OpenAIBatchServer,
) -> None:
    """No -m: a simple prompt routes to the local engine only, which has no batch API."""
    status, out, err = run(
        prompts("hi"), jsonl=True, batch=True, policy=Policy(complexity="simple", offline=False)
    )
    assert status == 3
    assert (
        out[0]["id"] == "q0"
        and "no target of this line's routing has a cloud batch API" in (out[0]["error"]["message"])
    )
    assert "line 1:" in err
    assert server.batches == {} and server.files == {}


COLLECT = """
import json, sys
from tests.cli.test_run_batch import run
status, out, err = run(batch_results=sys.argv[1])
print(json.dumps({"status": status, "out": out}))
"""


def test_another_process_collects_the_batch_from_the_state_on_disk(
    server: OpenAIBatchServer,
) -> None:
    _, _, _, batch_id = submit(prompts("one", "two"))
    server.finish(batch_id)
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", COLLECT, batch_id],
        cwd=root,
        env={**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{os.environ['PYTHONPATH']}"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["status"] == 0
    assert [(o["id"], o["text"]) for o in result["out"]] == [
        ("q0", "answer to one"),
        ("q1", "answer to two"),
    ]
    assert len(ledger_rows("SELECT 1 FROM attempts")) == 2


def test_status_as_text_names_the_state_and_the_counts(server: OpenAIBatchServer) -> None:
    _, _, _, batch_id = submit(prompts("one", "two"))
    status, out, _ = run_text(batch_status=batch_id)
    assert status == 0
    assert out == (
        f"{batch_id}: in_progress (openai says in_progress); 2 line(s), "
        "total 2, completed 0, failed 0\n"
    )
    server.finish(batch_id)
    _, out, _ = run_text(batch_status=batch_id)
    assert out.startswith(
        f"{batch_id}: ended (openai says completed); 2 line(s), total 2, completed 2"
    )


def test_a_rejected_key_at_submit_is_one_error_exit_6(
    server: OpenAIBatchServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong-key-0000")
    # Every line of the batch that was not submitted gets its error object: none is lost.
    status, out, err = run(
        prompts("one", "two"), jsonl=True, batch=True, policy=Policy(model="openai:gpt-5-mini")
    )
    assert status == 6
    assert [(o["id"], o["line"], o["error"]["type"]) for o in out] == [
        ("q0", 1, "AuthenticationError"),
        ("q1", 2, "AuthenticationError"),
    ]
    assert {o["error"]["exit_code"] for o in out} == {6}
    assert len(err.splitlines()) == 1
    assert "line(s) 1, 2: batch to openai:gpt-5-mini not submitted" in err
    assert server.batches == {}

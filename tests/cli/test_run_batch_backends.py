"""`--batch` on Anthropic's Message Batches and Gemini's batch mode: the real anthropic
and google-genai SDKs against loopback doubles (tests/servers/anthropic_batch.py,
google_batch.py), the same submit → status → results path as OpenAI's."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import pytest

from tests.cli.test_ledger_race import ledger_rows
from tests.cli.test_run_batch import prompts, run, submit_to
from tests.servers.anthropic_batch import AnthropicBatchServer
from tests.servers.base import LoopbackServer
from tests.servers.google_batch import GeminiBatchServer


class Backend(NamedTuple):
    name: str
    make: Callable[[], LoopbackServer]
    base_env: str
    model: str
    # The shipped price (providers/prices.yaml) of 1000 in + 2000 out, batch API half off.
    batch_cost: float
    ended_state: str
    expire: Callable[[Any, str], None]


BACKENDS = [
    Backend(
        "anthropic",
        AnthropicBatchServer,
        "ANTHROPIC_BASE_URL",
        "anthropic:claude-haiku-4-5",
        (1000 * 1.00 + 2000 * 5.00) / 1e6 * 0.5,
        "ended",
        lambda server, batch_id: server.finish(batch_id, expired_from=1),
    ),
    Backend(
        "google",
        GeminiBatchServer,
        "GOOGLE_GEMINI_BASE_URL",
        "google:gemini-2.5-flash",
        (1000 * 0.30 + 2000 * 2.50) / 1e6 * 0.5,
        "JOB_STATE_SUCCEEDED",
        lambda server, batch_id: server.finish(batch_id, "BATCH_STATE_EXPIRED"),
    ),
]


@pytest.fixture(params=BACKENDS, ids=[b.name for b in BACKENDS])
def backend(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Backend, Any]]:
    spec: Backend = request.param
    with spec.make() as server:
        monkeypatch.setenv(spec.base_env, server.url)
        yield spec, server


def test_submit_poll_collect(backend: tuple[Backend, Any]) -> None:
    spec, server = backend
    status, out, _, batch_id = submit_to(spec.model, prompts("one", "FAIL two", "three"))
    assert status == 0 and out == []

    status, out, _ = run(batch_status=batch_id, json_out=True)
    assert status == 0 and out[0]["state"] == "in_progress" and out[0]["id"] == batch_id

    server.finish(batch_id)
    status, out, _ = run(batch_status=batch_id, json_out=True)
    assert out[0]["state"] == "ended" and out[0]["provider_state"] == spec.ended_state

    status, out, err = run(batch_results=batch_id)
    assert [o["id"] for o in out] == ["q0", "q1", "q2"]
    assert [o["text"] for o in (out[0], out[2])] == ["answer to one", "answer to three"]
    assert out[1]["schema"] == "convergio-llm/error/v1" and "FAIL" in out[1]["error"]["message"]
    assert out[1]["error"]["type"] == "BadRequest"
    assert status == 1 and "line 2:" in err
    assert [o["cost_usd"] for o in (out[0], out[2])] == [pytest.approx(spec.batch_cost)] * 2
    assert [o["finish_reason"] for o in (out[0], out[2])] == ["stop", "stop"]
    costs = ledger_rows("SELECT cost_nusd FROM attempts")
    assert costs == [(round(spec.batch_cost * 1e9),)] * 2


def test_expired_lines_become_error_objects(backend: tuple[Backend, Any]) -> None:
    spec, server = backend
    _, _, _, batch_id = submit_to(spec.model, prompts("one", "two", "three"))
    spec.expire(server, batch_id)
    status, out, _ = run(batch_results=batch_id)
    assert [o["id"] for o in out] == ["q0", "q1", "q2"]
    expired = [o for o in out if o["schema"] == "convergio-llm/error/v1"]
    assert expired and all("before this request ran" in o["error"]["message"] for o in expired)
    assert status != 0
    if spec.name == "anthropic":  # Anthropic expires per request: the first one had run
        assert out[0]["text"] == "answer to one" and len(expired) == 2


def test_the_request_sent_carries_each_line_and_its_custom_id(
    backend: tuple[Backend, Any],
) -> None:
    spec, server = backend
    submit_to(spec.model, prompts("alpha", "beta"))
    (sent,) = server.requests_of.values()
    text = json.dumps(sent)
    assert "alpha" in text and "beta" in text
    assert text.index("line-1") < text.index("line-2")

"""Bad JSONL lines end as that line's error object; the rest of the batch runs (issue 14.9,
14.17). Each case here aborted the whole batch with `internal error` before."""

from __future__ import annotations

import json

import pytest

from convergio_llm.cli.io import MAX_DEPTH, parse_line
from convergio_llm.providers.errors import InputError
from convergio_llm.routing.decision import SCHEMA
from tests.conftest import run_in_process

DECISION = {
    "schema": SCHEMA,
    "request": {"messages": [{"role": "user", "content": "decided"}]},
    "provider": "fake",
    "model": "echo",
}

BAD_LINES = {
    "lone surrogate": '{"prompt": "a \\ud800 b"}',
    "lone surrogate in a key": '{"prompt": "p", "metadata": {"\\udfff": 1}}',
    "1000 deep": '{"prompt": "p", "metadata": ' + "[" * 1000 + "]" * 1000 + "}",
    "100 deep": '{"prompt": "p", "metadata": ' + "[" * 100 + "]" * 100 + "}",
    "NaN": '{"prompt": "p", "temperature": NaN}',
    "infinite": '{"prompt": "p", "temperature": 1e999}',
    "a 5000-digit integer": '{"prompt": "p", "seed": ' + "9" * 5000 + "}",
    "complexity a string": json.dumps({**DECISION, "complexity": "high"}),
    "local_only a string": json.dumps({**DECISION, "local_only": "false"}),
    "fallbacks an object": json.dumps({**DECISION, "fallbacks": {"provider": "fake"}}),
    "fallback without model": json.dumps({**DECISION, "fallbacks": [{"provider": "fake"}]}),
    "trace entry a list": json.dumps({**DECISION, "trace": [[1, 2]]}),
    "looked_at a number": json.dumps(
        {**DECISION, "trace": [{"rule": "r", "verdict": "v", "looked_at": 3}]}
    ),
    "cost a string": json.dumps({**DECISION, "estimated_cost_usd": "cheap"}),
    "tier a number": json.dumps({**DECISION, "tier": 3}),
    "request a list": json.dumps({**DECISION, "request": [1]}),
    "decision v2": json.dumps({**DECISION, "schema": "convergio-llm/decision/v2"}),
    "another schema": json.dumps({"schema": "convergio-llm/completion/v1", "prompt": "p"}),
}


@pytest.mark.parametrize("line", BAD_LINES.values(), ids=BAD_LINES.keys())
def test_a_bad_line_is_an_input_error(line: str) -> None:
    with pytest.raises(InputError):
        parse_line(line, 1, {})


def test_nesting_up_to_the_limit_and_surrogate_pairs_are_fine() -> None:
    deep = '{"prompt": "p", "metadata": ' + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "}"
    assert parse_line(deep, 1, {}).request is not None
    pair = parse_line('{"prompt": "smile \\ud83d\\ude00"}', 1, {})
    assert pair.request is not None and pair.request.prompt_text == "smile \U0001f600"


@pytest.mark.parametrize("command", ["route", "run"])
def test_every_bad_line_is_reported_by_number_and_the_rest_runs(command: str) -> None:
    lines = list(BAD_LINES.values())
    good = [json.dumps({"id": f"g{i}", "prompt": f"good {i}"}) for i in range(3)]
    stdin = "\n".join([good[0], *lines[:9], good[1], *lines[9:], good[2]]) + "\n"
    # route: --online skips the reachability probe (a good line may be routed to the cloud,
    # and probing api.openai.com would need DNS); run: a local fake answers.
    args = [command, "--jsonl", *(["-m", "fake:echo"] if command == "run" else ["--online"])]
    result = run_in_process(*args, input=stdin)
    assert result.returncode == 2, result.stderr
    assert b"internal error" not in result.stderr and b"Traceback" not in result.stderr
    out = [json.loads(x) for x in result.stdout.decode().splitlines()]
    errors = [o for o in out if o["schema"] == "convergio-llm/error/v1"]
    answered = [o["id"] for o in out if o["schema"] != "convergio-llm/error/v1"]
    assert answered == ["g0", "g1", "g2"]
    assert [e["line"] for e in errors] == [*range(2, 11), *range(12, 12 + len(lines) - 9)]
    assert all(e["error"]["exit_code"] == 2 for e in errors)
    assert len(result.stderr.decode().splitlines()) == len(lines)


def test_an_unknown_decision_version_is_an_error_not_a_prompt() -> None:
    decision = json.dumps({**DECISION, "schema": "convergio-llm/decision/v2"})
    result = run_in_process("run", "-m", "fake:echo", input=decision)
    assert result.returncode == 2
    assert result.stdout == b""
    stderr = result.stderr.decode()
    assert "convergio-llm/decision/v2" in stderr and SCHEMA in stderr
    assert stderr.count("\n") == 1

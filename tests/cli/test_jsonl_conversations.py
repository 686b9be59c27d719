"""JSON lines that carry "cid" continue that conversation; -c/--cid with --jsonl need
--concurrency 1 (each turn must see the answer before it)."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import llm
from tests.servers.openai import OpenAIServer, openai_server  # noqa: F401  (a fixture)

MODEL = ("-m", "openai:gpt-4o-mini")


def chats(server: OpenAIServer) -> list[list[dict[str, Any]]]:
    return [r.json()["messages"] for r in server.requests if r.path.endswith("/completions")]


def lines(*objs: Any) -> str:
    return "".join(json.dumps(o) + "\n" for o in objs)


def first_turn() -> str:
    result = llm("run", *MODEL, "--json", "name three primes")
    assert result.code == 0, result.stderr
    return str(json.loads(result.stdout)["conversation_id"])


def test_a_line_with_cid_continues_that_conversation(
    openai_server: OpenAIServer,  # noqa: F811
) -> None:
    cid = first_turn()
    stdin = lines({"prompt": "and their sum?", "cid": cid}, {"prompt": "a fresh question"})
    result = llm("run", *MODEL, "--jsonl", stdin=stdin)
    assert result.code == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert answers[0]["conversation_id"] == cid
    assert answers[1]["conversation_id"] != cid
    with_history, fresh = chats(openai_server)[-2:]
    assert [m["content"] for m in with_history[::2]] == ["name three primes", "and their sum?"]
    assert [m["role"] for m in with_history] == ["user", "assistant", "user"]
    assert [m["content"] for m in fresh] == ["a fresh question"]


def test_continue_with_jsonl_needs_concurrency_1(
    openai_server: OpenAIServer,  # noqa: F811
) -> None:
    first_turn()
    stdin = lines({"prompt": "and their sum?"})
    result = llm("run", *MODEL, "-c", "--jsonl", "--concurrency", "2", stdin=stdin)
    assert result.code == 2
    assert "needs --concurrency 1" in result.stderr and result.stderr.count("\n") == 1
    assert len(chats(openai_server)) == 1  # only the first turn was sent


def test_cid_lines_under_concurrency_are_refused_by_number_and_the_rest_go_on(
    openai_server: OpenAIServer,  # noqa: F811
) -> None:
    cid = first_turn()
    stdin = lines({"prompt": "plain"}, {"prompt": "and their sum?", "cid": cid})
    result = llm("run", *MODEL, "--jsonl", "--concurrency", "2", stdin=stdin)
    assert result.code == 2
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert answers[0]["text"]
    assert answers[1]["line"] == 2 and "concurrency 1" in answers[1]["error"]["message"]


def test_a_bad_or_unknown_cid_is_that_line_s_error(
    openai_server: OpenAIServer,  # noqa: F811
) -> None:
    first_turn()
    stdin = lines({"prompt": "x", "cid": 5}, {"prompt": "y", "cid": "nope"}, {"prompt": "z"})
    result = llm("run", *MODEL, "--jsonl", stdin=stdin)
    assert result.code == 2
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert "'cid' must be" in answers[0]["error"]["message"]
    assert "nope" in answers[1]["error"]["message"]
    assert answers[2]["text"]

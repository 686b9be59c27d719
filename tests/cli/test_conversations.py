"""Conversations through `run_command` in-process: history, sticky routing, privacy that
sticks, and `llm logs` — against the OpenAI wire double and the real embedded llama.cpp."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from convergio_llm.cli.context import Environment
from convergio_llm.cli.logs_impl import logs_command
from convergio_llm.cli.run_impl import RunOptions, run_command
from convergio_llm.providers.errors import InputError
from convergio_llm.routing.conversations import (
    SCHEMA_VERSION,
    ConversationStore,
    ConversationStoreError,
    store_path,
)
from convergio_llm.routing.decide import Policy
from tests.routing.conftest import make_context
from tests.servers.openai import OpenAIServer, openai_server  # noqa: F401  (a fixture)

MEDIUM = "Compare the causes of the French and American revolutions in two paragraphs."
PRIVATE = "Email maria.rossi@example.org the summary."


def environment() -> Environment:
    env = Environment(stdin=io.BytesIO(b""), stdout=io.StringIO(), stderr=io.StringIO())
    # The double is on loopback, which would make `openai` a local server: it stands for the cloud.
    env._routing = make_context(keys=("openai",), locality={"openai": "cloud"})
    return env


def run(prompt: str, **options: Any) -> tuple[int, dict[str, Any], str]:
    env = environment()
    options.setdefault("policy", Policy(complexity="medium"))
    try:
        status = run_command(env, RunOptions(prompt=prompt, json_out=True, **options))
    finally:
        env.close()  # the SDK clients and their sockets, as the CLI closes them
    out = env.stdout.getvalue()  # type: ignore[attr-defined]
    err = env.stderr.getvalue()  # type: ignore[attr-defined]
    return status, json.loads(out) if out else {}, err


def chats(server: OpenAIServer) -> list[list[dict[str, Any]]]:
    return [r.json()["messages"] for r in server.requests if r.path.endswith("/completions")]


def test_a_follow_up_carries_the_history_to_the_same_target(
    openai_server: OpenAIServer,  # noqa: F811
) -> None:
    status, first, err = run(MEDIUM)
    assert status == 0, err
    assert first["provider"] == "openai"
    cid = first["conversation_id"]
    # A simple follow-up would go to the local model on its own: the conversation keeps it.
    status, second, err = run("and the sum?", continue_last=True, policy=Policy())
    assert status == 0, err
    assert (second["provider"], second["conversation_id"]) == ("openai", cid)
    history = chats(openai_server)[-1]
    assert [m["role"] for m in history] == ["user", "assistant", "user"]
    assert history[0]["content"] == MEDIUM
    assert history[1]["content"] == first["text"]
    assert history[2]["content"] == "and the sum?"


@pytest.mark.engine
def test_a_private_turn_moves_the_conversation_local_for_good(
    openai_server: OpenAIServer,  # noqa: F811
) -> None:
    _, first, _ = run(MEDIUM)
    cid = first["conversation_id"]
    status, private, err = run(PRIVATE, cid=cid)
    assert status == 0, err
    assert private["provider"] == "llamacpp"
    sent = len(chats(openai_server))
    # Nothing private in this turn, and a medium prompt: still local, the history is private.
    status, later, err = run(MEDIUM, cid=cid)
    assert status == 0, err
    assert later["provider"] == "llamacpp"
    assert len(chats(openai_server)) == sent == 1
    # Not even -m takes that history to the cloud.
    status, refused, err = run("again", cid=cid, policy=Policy(model="openai:gpt-5-mini"))
    assert status == 2 and "local-only" in err
    assert refused["error"]["type"] == "InputError"
    assert len(chats(openai_server)) == 1

    env = environment()
    assert logs_command(env, cid, json_out=True, limit=10) == 0
    shown = json.loads(env.stdout.getvalue())  # type: ignore[attr-defined]
    assert shown["local_only"] is True
    assert shown["privacy"] == "local-only (privacy: email in prompt)"
    assert [t["private"] for t in shown["messages"]] == [False, True, True]
    assert [t["provider"] for t in shown["messages"]] == ["openai", "llamacpp", "llamacpp"]


def test_no_log_keeps_the_run_out_of_the_store(openai_server: OpenAIServer) -> None:  # noqa: F811
    status, done, err = run(MEDIUM, use_log=False)
    assert status == 0, err
    assert done["conversation_id"] is None
    assert not store_path().exists()


@pytest.mark.parametrize("options", [{"cid": "nope"}, {"continue_last": True}])
def test_continuing_nothing_is_a_usage_error(options: dict[str, Any]) -> None:
    status, out, err = run("hi", **options)
    assert status == 2
    assert err.count("\n") == 1 and "no conversation" in err
    assert out["schema"] == "convergio-llm/error/v1"


def test_logs_lists_conversations_with_their_verdict(
    openai_server: OpenAIServer,  # noqa: F811
) -> None:
    run(MEDIUM)
    run("Second question about the revolutions, in depth please.")
    env = environment()
    assert logs_command(env, None, json_out=False, limit=10) == 0
    lines = env.stdout.getvalue().splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 2
    assert lines[0].split()[2] == "openai:gpt-5-mini"
    assert "cloud allowed" in lines[0] and "Second question" in lines[0]
    env = environment()
    logs_command(env, None, json_out=True, limit=1)
    rows = env.stdout.getvalue().splitlines()  # type: ignore[attr-defined]
    assert len(rows) == 1 and json.loads(rows[0])["turns"] == 1


def test_logs_of_an_unknown_id_is_a_usage_error() -> None:
    with pytest.raises(InputError, match="no conversation with id 'nope'"):
        logs_command(environment(), "nope", json_out=False, limit=10)


def test_a_store_from_a_newer_version_is_refused_untouched(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "conversations.db"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = path.read_bytes()
    with pytest.raises(ConversationStoreError, match="newer than this llm understands"):
        ConversationStore(path)
    assert path.read_bytes() == before


def test_the_store_is_in_wal_mode_beside_the_ledger(openai_server: OpenAIServer) -> None:  # noqa: F811
    run(MEDIUM)
    import sqlite3

    from convergio_llm.routing.ledger import ledger_path

    assert store_path().parent == ledger_path().parent
    with sqlite3.connect(store_path()) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.engine
def test_a_context_length_error_hands_over_to_the_next_target(
    openai_server: OpenAIServer,  # noqa: F811
) -> None:
    from tests.servers.openai import context_too_long

    openai_server.failures.append(context_too_long(limit=128))
    status, done, err = run(MEDIUM, defaults={"max_tokens": 8})
    assert status == 0, err
    assert done["provider"] == "llamacpp"
    assert [a["outcome"] for a in done["attempts"]] == ["error", "ok"]
    assert done["attempts"][0]["error"]["type"] == "ContextTooLong"
    assert "openai:gpt-5-mini failed" in err and "trying llamacpp:gemma-3-270m" in err


def test_the_overflow_setting_is_validated(tmp_path: Path) -> None:
    from convergio_llm.providers.errors import ConfigError
    from convergio_llm.routing.config import load_config

    good = tmp_path / "good.yaml"
    good.write_text("conversations:\n  on_overflow: refuse\n")
    assert load_config(str(good)).get("conversations.on_overflow") == "refuse"
    bad = tmp_path / "bad.yaml"
    bad.write_text("conversations:\n  on_overflow: truncate\n")
    with pytest.raises(ConfigError, match="one of drop, refuse"):
        load_config(str(bad))

"""The body of `llm logs [CID] [--json] [-n N]`: list conversations, or show one, with the
privacy verdict of each (local-only for good once a turn carried private data)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from convergio_llm.cli.context import Environment
from convergio_llm.cli.io import write_json
from convergio_llm.providers.errors import InputError
from convergio_llm.routing.conversations import Conversation, ConversationStore, open_store

SCHEMA = "convergio-llm/conversation/v1"
PREVIEW_CHARS = 60


def logs_command(env: Environment, cid: str | None, *, json_out: bool, limit: int) -> int:
    if limit < 1:
        raise InputError(f"-n must be at least 1 (got {limit})")
    env.config  # noqa: B018 (no setting is read, but a broken config is said here too)
    store = open_store(create=False)
    if store is None:
        if cid:
            raise InputError(f"no conversation with id '{cid}' (none is stored yet)")
        return 0
    try:
        if cid:
            _show(env, store, store.get(cid), json_out)
        else:
            for conversation in store.recent(limit):
                _list_line(env, store, conversation, json_out)
    finally:
        store.close()
    return 0


def privacy_verdict(conversation: Conversation) -> str:
    if conversation.local_only:
        return f"local-only ({conversation.privacy})"
    return "cloud allowed"


def conversation_json(conversation: Conversation) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "id": conversation.id,
        "created": _when(conversation.created),
        "updated": _when(conversation.updated),
        "provider": conversation.provider,
        "model": conversation.model,
        "turns": conversation.turns,
        "local_only": conversation.local_only,
        "privacy": privacy_verdict(conversation),
    }


def _list_line(
    env: Environment, store: ConversationStore, conversation: Conversation, json_out: bool
) -> None:
    if json_out:
        write_json(env.stdout, conversation_json(conversation))
        return
    turns = store.turns(conversation.id)
    first = turns[0].prompt if turns else ""
    preview = " ".join(first.split())
    if len(preview) > PREVIEW_CHARS:
        preview = preview[: PREVIEW_CHARS - 1] + "…"
    env.stdout.write(
        f"{conversation.id}  {_when(conversation.updated)}  "
        f"{conversation.provider}:{conversation.model}  {conversation.turns} turn(s)  "
        f"{privacy_verdict(conversation)}  {preview}\n"
    )


def _show(
    env: Environment, store: ConversationStore, conversation: Conversation, json_out: bool
) -> None:
    turns = store.turns(conversation.id)
    if json_out:
        obj = conversation_json(conversation)
        obj["messages"] = [
            {
                "ts": _when(t.ts),
                "prompt": t.prompt,
                "response": t.response,
                "provider": t.provider,
                "model": t.model,
                "private": t.private,
            }
            for t in turns
        ]
        write_json(env.stdout, obj)
        return
    out = env.stdout
    out.write(
        f"conversation {conversation.id}  {conversation.provider}:{conversation.model}  "
        f"{privacy_verdict(conversation)}\n"
    )
    for turn in turns:
        private = "  [private]" if turn.private else ""
        out.write(f"\n> {turn.prompt}\n({turn.provider}:{turn.model}{private})\n")
        out.write(turn.response.rstrip("\n") + "\n")


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="seconds")

"""The parts of a request body that `--schema` and `-a` add, in each API's own shape.

Images go with the request's last user turn (the one `-a` was given with). A backend
that cannot serve a part refuses the request before sending anything (`refuse_unsupported`),
with a line that says which part and what to use instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from convergio_llm.providers.errors import BadRequest
from convergio_llm.providers.values import Message, Request

SCHEMA_NAME = "answer"


def _last_user(messages: tuple[Message, ...]) -> int:
    return max((i for i, m in enumerate(messages) if m.role == "user"), default=-1)


def openai_messages(request: Request) -> list[dict[str, Any]]:
    """Chat Completions messages; images as `image_url` parts holding a data: URL."""
    out: list[dict[str, Any]] = [{"role": m.role, "content": m.content} for m in request.messages]
    if request.attachments:
        turn = out[_last_user(request.messages)]
        turn["content"] = [
            {"type": "text", "text": turn["content"]},
            *(
                {
                    "type": "image_url",
                    "image_url": {"url": f"data:{a.media_type};base64,{a.base64()}"},
                }
                for a in request.attachments
            ),
        ]
    return out


def openai_response_format(schema: Mapping[str, Any]) -> dict[str, Any]:
    # Not strict: strict mode rejects schemas without additionalProperties: false on every
    # object, and the answer is validated on our side anyway.
    return {
        "type": "json_schema",
        "json_schema": {"name": SCHEMA_NAME, "schema": dict(schema), "strict": False},
    }


def anthropic_messages(request: Request) -> list[dict[str, Any]]:
    """Messages API turns (system goes apart); images as base64 `image` blocks first."""
    out: list[dict[str, Any]] = [
        {"role": m.role, "content": m.content} for m in request.messages if m.role != "system"
    ]
    if request.attachments and out:
        turn = max(i for i, m in enumerate(out) if m["role"] == "user")
        out[turn]["content"] = [
            *(
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": a.media_type, "data": a.base64()},
                }
                for a in request.attachments
            ),
            {"type": "text", "text": out[turn]["content"]},
        ]
    return out


def anthropic_output_config(schema: Mapping[str, Any]) -> dict[str, Any]:
    return {"format": {"type": "json_schema", "schema": dict(schema)}}


def ollama_messages(request: Request) -> list[dict[str, Any]]:
    """/api/chat messages; images as a list of bare base64 strings on the message."""
    out: list[dict[str, Any]] = [{"role": m.role, "content": m.content} for m in request.messages]
    if request.attachments:
        out[_last_user(request.messages)]["images"] = [a.base64() for a in request.attachments]
    return out


def refuse_unsupported(
    request: Request, provider: str, *, images: bool = True, schema: bool = True
) -> None:
    """BadRequest, before anything is sent, for a part this backend cannot serve."""
    if request.attachments and not images:
        raise BadRequest(
            f"{provider} cannot take images (-a): use a vision model "
            "(e.g. -m openai, -m anthropic, -m google, or an Ollama vision model)",
            provider,
        )
    if request.schema is not None and not schema:
        raise BadRequest(
            f"{provider} has no structured output (--schema): use another backend "
            "(llamacpp, ollama, openai, anthropic, google)",
            provider,
        )

"""Reading requests from arguments and stdin; writing text, JSON and JSON Lines.

One prompt is plain text. A decision object (from `llm route`) is recognised by its
`schema`. `--jsonl` reads one JSON object per line; a bad line becomes an error
result for that line and the rest go on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import IO, Any, NamedTuple

from convergio_llm.cli.context import Environment
from convergio_llm.providers.errors import InputError, LLMError, scrub
from convergio_llm.providers.values import Message, Request
from convergio_llm.routing.decision import SCHEMA as DECISION_SCHEMA
from convergio_llm.routing.decision import Decision, request_from_json


class Item(NamedTuple):
    """One unit of work: a request or a decision, or the error reading it."""

    line: int
    id: str
    request: Request | None = None
    decision: Decision | None = None
    error: LLMError | None = None


def _decode(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{where} is not valid UTF-8 (byte {exc.start})") from None


def read_items(
    env: Environment, prompt: str | None, jsonl: bool, defaults: Mapping[str, Any]
) -> Iterator[Item]:
    """Yield items in input order. Raises InputError only when there is no input at all."""
    if prompt is not None and prompt != "-":
        if not prompt.strip():
            raise InputError("the prompt is empty")
        yield Item(1, "1", request=_prompt_request(prompt, defaults))
        return
    if env.stdin_isatty and prompt is None:
        raise InputError("no prompt: give one as an argument or on stdin")
    if jsonl:
        yield from _read_jsonl(env.stdin, defaults)
        return
    first = env.stdin.readline()
    if first.lstrip().startswith(b"{") and _is_decision_line(first):
        yield from _read_jsonl(env.stdin, defaults, first=first)
        return
    text = _decode(first + env.stdin.read(), "stdin")
    if not text.strip():
        raise InputError("stdin is empty: nothing to send")
    yield Item(1, "1", request=_prompt_request(text.rstrip("\n"), defaults))


def _prompt_request(prompt: str, defaults: Mapping[str, Any]) -> Request:
    """A plain-text prompt with the command line's system prompt and parameters."""
    given = {k: v for k, v in defaults.items() if v is not None}
    return Request.from_prompt(prompt, **given)


def _is_decision_line(line: bytes) -> bool:
    try:
        obj = json.loads(line)
    except ValueError:
        return False
    return isinstance(obj, dict) and obj.get("schema") == DECISION_SCHEMA


def _read_jsonl(
    stream: IO[bytes], defaults: Mapping[str, Any], first: bytes | None = None
) -> Iterator[Item]:
    def lines() -> Iterator[bytes]:
        if first is not None:
            yield first
        yield from stream

    # A default left unset (None) fills nothing in: drop those once, not on every line.
    defaults = {k: v for k, v in defaults.items() if v is not None}
    seen_any = False
    for number, raw in enumerate(lines(), 1):
        if not raw.strip():
            continue
        seen_any = True
        try:
            yield parse_line(_decode(raw, f"line {number}"), number, defaults)
        except LLMError as exc:
            yield Item(number, str(number), error=InputError(f"line {number}: {exc}"))
    if not seen_any:
        raise InputError("stdin is empty: no JSON lines to read")


_DECODER: json.JSONDecoder | None = None


def _loads(text: str) -> Any:
    """`json.loads(text)`, without its checks around the scan for the usual line: an object
    and a newline. Anything else, and any error (so every message), is json.loads's own."""
    global _DECODER
    if text[:1] == "{":
        if _DECODER is None:
            _DECODER = json.JSONDecoder()
        try:
            obj, end = _DECODER.raw_decode(text)
        except ValueError:
            return json.loads(text)
        if end == len(text) or not text[end:].strip(" \t\n\r"):  # JSON's whitespace
            return obj
    return json.loads(text)


def parse_line(text: str, number: int, defaults: Mapping[str, Any]) -> Item:
    try:
        obj = _loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON ({exc.msg} at column {exc.colno})") from None
    if isinstance(obj, str):
        obj = {"prompt": obj}
    if not isinstance(obj, dict):
        raise InputError("each line must be a JSON object")
    item_id = str(obj["id"]) if obj.get("id") is not None else str(number)
    if obj.get("schema") == DECISION_SCHEMA:
        decision = Decision.from_json(obj)
        request = with_defaults(decision.request, defaults)
        return Item(number, item_id, decision=replace(decision, request=request, id=item_id))
    return Item(number, item_id, request=with_defaults(request_from_json(obj), defaults))


def with_defaults(request: Request, defaults: Mapping[str, Any]) -> Request:
    """Fill what the request left unset (parameters, system prompt) with the command line's."""
    if not defaults:  # nothing to fill in (the usual `llm route --jsonl`)
        return request
    params = {k: v for k, v in defaults.items() if k != "system"}
    missing = {
        k: v for k, v in params.items() if v is not None and getattr(request, k) in (None, ())
    }
    system = defaults.get("system")
    if system and not any(m.role == "system" for m in request.messages):
        missing["messages"] = (Message("system", system), *request.messages)
    return request.with_params(**missing) if missing else request


def write_json(stream: IO[str], obj: Any) -> None:
    stream.write(scrub(json.dumps(obj, ensure_ascii=False, default=str)) + "\n")
    stream.flush()


def error_object(item_id: str, line: int, error: BaseException, status: int) -> dict[str, Any]:
    return {
        "schema": "convergio-llm/error/v1",
        "id": item_id,
        "line": line,
        "error": {"type": type(error).__name__, "message": scrub(str(error)), "exit_code": status},
    }

"""Reading requests from arguments and stdin; writing text, JSON and JSON Lines.

One prompt is plain text. A decision object (from `llm route`) is recognised by its
`schema`. `--jsonl` reads one JSON object per line; a bad line becomes an error
result for that line and the rest go on.
"""

# Real annotations (no `from __future__ import annotations`): typing.NamedTuple would compile
# each string annotation of the records below at every start (tests/test_startup_imports.py).
import io
import json
import math
import re
from collections.abc import Iterator, Mapping
from typing import IO, Any, NamedTuple

from convergio_llm.cli.context import Environment
from convergio_llm.providers.errors import InputError, LLMError, scrub
from convergio_llm.providers.values import Message, Request
from convergio_llm.routing.decision import (
    Decision,
    is_decision_schema,
    request_from_json,
    unknown_schema,
)

# Deeper than any request or decision needs; deeper still would exhaust the recursion of
# the JSON encoder and decoder (RecursionError), so such a line is refused by number.
MAX_DEPTH = 64
# Pattern strings, compiled by `re` on the first JSON line (a plain prompt has none).
# A lone UTF-16 surrogate escape (\ud800 with no partner): JSON allows it, UTF-8 cannot
# carry it, so it would fail later, when the request is written or sent.
_SURROGATE = r"\\u[dD][89a-fA-F]"
# What Python's reader turns into a float that is not finite (JSON has no such number).
_NOT_FINITE = r"NaN|Infinity|[eE]\+?\d{3}"


class Item(NamedTuple):
    """One unit of work: a request or a decision, or the error reading it."""

    line: int
    id: str
    request: Request | None = None
    decision: Decision | None = None
    error: LLMError | None = None
    # A JSON line's "cid": the conversation this line continues (`llm run --jsonl`).
    cid: str | None = None


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
        raise InputError(NO_PROMPT)
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
    if text.lstrip()[:1] == "{":
        hint = _json_as_text_hint(text)
        if hint:
            env.warn(hint)
    yield Item(1, "1", request=_prompt_request(text.rstrip("\n"), defaults))


def _json_as_text_hint(text: str) -> str | None:
    """A note when stdin is one JSON object that was meant as input, not as prompt text:
    a request without --jsonl, or a hand-written decision without its "schema". Such a
    text is still the prompt (the pipe contract), but silently re-routing it surprises."""
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(obj, dict):
        return None
    if "provider" in obj and "model" in obj:
        return (
            'stdin looks like a decision but has no "schema", so its text is the prompt, '
            'routed anew (a decision carries "schema": "convergio-llm/decision/v1")'
        )
    if "prompt" in obj or "messages" in obj:
        return "stdin is a JSON request, but without --jsonl its text is the prompt (add --jsonl)"
    return None


NO_PROMPT = "no prompt: give one as an argument or on stdin"


def _prompt_request(prompt: str, defaults: Mapping[str, Any]) -> Request:
    """A plain-text prompt with the command line's system prompt and parameters."""
    given = {k: v for k, v in defaults.items() if v is not None}
    return Request.from_prompt(prompt, **given)


def _is_decision_line(line: bytes) -> bool:
    """A decision object of any schema version (an unknown one is then reported as such,
    not routed anew as a prompt)."""
    try:
        obj = json.loads(line)
    except (ValueError, RecursionError):
        return False
    return isinstance(obj, dict) and is_decision_schema(obj.get("schema"))


def _read_jsonl(
    stream: IO[bytes], defaults: Mapping[str, Any], first: bytes | None = None
) -> Iterator[Item]:
    def lines() -> Iterator[bytes]:
        if first is not None:
            yield first
        yield from stream

    defaults = set_defaults(defaults)
    seen_any = False
    for number, raw in enumerate(lines(), 1):
        if not raw.strip():
            continue
        seen_any = True
        yield item_of_line(raw, number, defaults)
    if not seen_any:
        raise InputError(NO_JSON_LINES)


NO_JSON_LINES = "stdin is empty: no JSON lines to read"


def set_defaults(defaults: Mapping[str, Any]) -> dict[str, Any]:
    """A default left unset (None) fills nothing in: dropped once, not on every line."""
    return {k: v for k, v in defaults.items() if v is not None}


def item_of_line(raw: bytes, number: int, defaults: Mapping[str, Any]) -> Item:
    """One non-blank JSON line as an item, or as the error that names its number."""
    try:
        return parse_line(_decode(raw, f"line {number}"), number, defaults)
    except LLMError as exc:
        return Item(number, str(number), error=InputError(f"line {number}: {exc}"))


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


def _parse(text: str) -> Any:
    """The JSON value of one line, refusing what would break later: nesting beyond
    MAX_DEPTH, lone surrogates, NaN and infinities, integers too long to convert."""
    try:
        obj = _loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise InputError(f"JSON nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise InputError(f"invalid JSON ({str(exc).splitlines()[0]})") from None
    # Both checks only look further when the text could hold the fault (the usual line
    # has a handful of brackets and no escapes).
    if text.count("[") + text.count("{") > MAX_DEPTH and _depth(obj) > MAX_DEPTH:
        raise InputError(f"JSON nested deeper than {MAX_DEPTH} levels")
    if re.search(_SURROGATE, text) and _has_lone_surrogate(obj):
        raise InputError("invalid JSON (a lone surrogate escape such as \\ud800 is not text)")
    if re.search(_NOT_FINITE, text) and _has_non_finite(obj):
        raise InputError("invalid JSON (NaN and infinite numbers are not JSON numbers)")
    return obj


def _depth(obj: Any) -> int:
    """How deep lists and objects nest, found without recursion."""
    deepest = 0
    stack = [(obj, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            node = list(node.values())
        if isinstance(node, list):
            deepest = max(deepest, depth)
            if depth <= MAX_DEPTH:
                stack.extend((child, depth + 1) for child in node)
    return deepest


def _leaves(obj: Any) -> Iterator[Any]:
    """Every string, number and key in a parsed JSON value, without recursion."""
    stack = [obj]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        else:
            yield node


def _has_lone_surrogate(obj: Any) -> bool:
    for leaf in _leaves(obj):
        if isinstance(leaf, str):
            try:
                leaf.encode("utf-8")
            except UnicodeEncodeError:
                return True
    return False


def _has_non_finite(obj: Any) -> bool:
    return any(isinstance(leaf, float) and not math.isfinite(leaf) for leaf in _leaves(obj))


def parse_line(text: str, number: int, defaults: Mapping[str, Any]) -> Item:
    obj = _parse(text)
    if isinstance(obj, str):
        obj = {"prompt": obj}
    if not isinstance(obj, dict):
        raise InputError("each line must be a JSON object")
    item_id = str(obj["id"]) if obj.get("id") is not None else str(number)
    cid = obj.get("cid")
    if cid is not None and (not isinstance(cid, str) or not cid.strip()):
        raise InputError("'cid' must be a conversation id (a non-empty string)")
    schema = obj.get("schema")
    if schema is not None:
        if not is_decision_schema(schema):
            raise InputError(unknown_schema(schema))
        decision = Decision.from_json(obj)
        request = with_defaults(decision.request, defaults)
        decided = decision._replace(request=request, id=item_id)
        return Item(number, item_id, decision=decided, cid=cid)
    return Item(number, item_id, request=with_defaults(request_from_json(obj), defaults), cid=cid)


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


def json_line(obj: Any) -> str:
    """One JSON Lines line: how every command writes a JSON object."""
    return json.dumps(obj, ensure_ascii=False, default=str) + "\n"


def write_json(stream: IO[str], obj: Any) -> None:
    stream.write(scrub(json_line(obj)))
    stream.flush()


def error_object(item_id: str, line: int, error: BaseException, status: int) -> dict[str, Any]:
    return {
        "schema": "convergio-llm/error/v1",
        "id": item_id,
        "line": line,
        "error": {"type": type(error).__name__, "message": scrub(str(error)), "exit_code": status},
    }


def output_error_line(exc: OSError) -> str:
    """What to say when stdout cannot be written (a full disk, `>&-`, /dev/full): the
    fault as it is, in one line, instead of an internal error (exit 1). Also points
    stdout at /dev/null, so the interpreter's last flush does not fail a second time."""
    import contextlib
    import os
    import sys

    if sys.stdout is not None:
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
    what = exc.strerror or str(exc) or type(exc).__name__
    if exc.errno is not None and not exc.strerror:
        what = os.strerror(exc.errno)
    return f"cannot write the output: {what}"


class ClosedStream(io.TextIOBase):
    """Stands in for a standard stream the shell closed (`llm ... >&-`): Python then gives
    None, and writing to it reports EBADF like any other failed write."""

    def __init__(self, name: str) -> None:
        self.name = name

    def write(self, text: str) -> int:
        import errno

        raise OSError(errno.EBADF, f"{self.name} is closed")

    def isatty(self) -> bool:
        return False

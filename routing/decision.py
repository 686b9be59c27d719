"""A routing decision: where a request goes, why, and what to try if that fails.

It is data, not behaviour: `llm route` prints it, `llm run` executes it as given.
`--explain` renders `trace`, so the explanation cannot drift from the decision.
"""

# Real annotations (no `from __future__ import annotations`): typing.NamedTuple would compile
# each string annotation of the records below at every start (tests/test_startup_imports.py).
import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from convergio_llm.providers.errors import InputError
from convergio_llm.providers.values import Attachment, Message, Request

SCHEMA_FAMILY = "convergio-llm/decision/"
SCHEMA = SCHEMA_FAMILY + "v1"
RULES = ("override", "privacy", "offline", "budget", "platform", "complexity", "quality")
# What `write_json` would call: json.dumps(obj, ensure_ascii=False, default=str), built once.
_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str)


def _encode(obj: Any) -> str:
    """`_ENCODER.encode(obj)` for a dict: the C encoder it builds on every call, built once
    (the same text, without the circular-reference check: a decision is a tree)."""
    return "".join(_C_ENCODER(obj, 0)) if _C_ENCODER is not None else _ENCODER.encode(obj)


def _c_encoder() -> Any:
    from json import encoder

    make = getattr(encoder, "c_make_encoder", None)  # None without the _json accelerator
    if make is None:
        return None
    # The arguments JSONEncoder.iterencode passes for ensure_ascii=False, default=str.
    return make(None, str, encoder.encode_basestring, None, ": ", ", ", False, False, True)


_C_ENCODER = _c_encoder()


# The records here are NamedTuples: immutable like a frozen dataclass, ~6x cheaper to
# define (every `llm route` defines them) and cheaper to build per decision. Change one
# with `decision._replace(...)`.
_NO_FEATURES: Mapping[str, Any] = MappingProxyType({})


class Target(NamedTuple):
    provider: str
    model: str

    @property
    def ref(self) -> str:
        return f"{self.provider}:{self.model}"

    def to_json(self) -> dict[str, str]:
        return {"provider": self.provider, "model": self.model}


class _TraceFields(NamedTuple):
    rule: str
    looked_at: Mapping[str, Any]
    verdict: str


class TraceEntry(_TraceFields):
    """One rule's entry in a decision's trace: what it looked at and what it said.

    A subclass of its NamedTuple so that an entry has a `__dict__` to keep its JSON text
    in (json_text); that text is not a field, so it is not compared or printed."""

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "looked_at": dict(self.looked_at), "verdict": self.verdict}

    @property
    def json_text(self) -> str:
        """`to_json()` as JSON text, kept: most entries are shared by every decision made in
        the same context, so `llm route --jsonl` encodes them once, not once a line. Kept
        by hand, not by functools.cached_property, which takes a lock on every read (3.11)."""
        text: str | None = self.__dict__.get("_json_text")
        if text is None:
            text = self.__dict__["_json_text"] = _encode(self.to_json())
        return text


class Decision(NamedTuple):
    request: Request
    provider: str
    model: str
    tier: str | None = None
    reason: str = ""
    complexity: Mapping[str, Any] = _NO_FEATURES
    estimated_cost_usd: float | None = None
    fallbacks: tuple[Target, ...] = ()
    trace: tuple[TraceEntry, ...] = ()
    # True when privacy or offline put the request local: fallbacks must stay local.
    local_only: bool = False
    id: str | None = None

    @property
    def targets(self) -> list[Target]:
        return [Target(self.provider, self.model), *self.fallbacks]

    def to_json(self) -> dict[str, Any]:
        out = self.to_json_head()
        out["trace"] = [t.to_json() for t in self.trace]
        return out

    def to_json_text(self) -> str:
        """The text of json.dumps(self.to_json(), ensure_ascii=False, default=str), with
        the trace entries' text reused (see TraceEntry.json_text)."""
        out = self.to_json_head()
        trace = ", ".join(t.json_text for t in self.trace)
        return f'{_encode(out)[:-1]}, "trace": [{trace}]}}'

    def to_json_head(self) -> dict[str, Any]:
        """`to_json()` up to, not including, its last key: the trace."""
        out: dict[str, Any] = {"schema": SCHEMA}
        if self.id is not None:
            out["id"] = self.id
        out["request"] = request_json(self.request)
        out["provider"] = self.provider
        out["model"] = self.model
        out["tier"] = self.tier
        out["reason"] = self.reason
        out["complexity"] = dict(self.complexity)
        out["estimated_cost_usd"] = self.estimated_cost_usd
        out["local_only"] = self.local_only
        out["fallbacks"] = [t.to_json() for t in self.fallbacks]
        return out

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> "Decision":
        """A decision read back from JSON: untrusted input (it may have been edited), so
        every field is checked for its type; a wrong one is an InputError naming it."""
        schema = obj.get("schema")
        if schema != SCHEMA:
            raise InputError(unknown_schema(schema))
        try:
            request = request_from_json(obj["request"])
        except KeyError:
            raise InputError("decision field 'request' is missing") from None
        local_only = obj.get("local_only", False)
        if not isinstance(local_only, bool):
            raise InputError("decision field 'local_only' must be true or false")
        item_id = obj.get("id")
        return cls(
            request=request,
            provider=_text(obj, "provider"),
            model=_text(obj, "model"),
            tier=_optional(obj, "tier", str, "a string"),
            reason=_optional(obj, "reason", str, "a string") or "",
            complexity=_optional(obj, "complexity", Mapping, "an object") or {},
            estimated_cost_usd=_cost(obj),
            fallbacks=tuple(_target(f, i) for i, f in enumerate(_list(obj, "fallbacks"), 1)),
            trace=tuple(_trace_entry(t, i) for i, t in enumerate(_list(obj, "trace"), 1)),
            local_only=local_only,
            id=None if item_id is None else str(item_id),
        )


def is_decision_schema(schema: object) -> bool:
    """Any version of the decision schema, this build's or not (so a newer one is an error,
    not a prompt to route anew)."""
    return isinstance(schema, str) and schema.startswith(SCHEMA_FAMILY)


def unknown_schema(schema: object) -> str:
    return f"unknown schema {schema!r}: this build reads decision objects of {SCHEMA}"


def _text(obj: Mapping[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise InputError(f"decision field '{key}' must be a non-empty string")
    return value


def _optional(obj: Mapping[str, Any], key: str, kind: Any, what: str) -> Any:
    value = obj.get(key)
    if value is not None and not isinstance(value, kind):
        raise InputError(f"decision field '{key}' must be {what} (got {type(value).__name__})")
    return dict(value) if isinstance(value, Mapping) else value


def _cost(obj: Mapping[str, Any]) -> float | None:
    value = obj.get("estimated_cost_usd")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError("decision field 'estimated_cost_usd' must be a number or null")
    return float(value)


def _list(obj: Mapping[str, Any], key: str) -> list[Any]:
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InputError(f"decision field '{key}' must be a list")
    return value


def _target(value: Any, index: int) -> Target:
    where = f"fallbacks[{index}]"
    if not isinstance(value, Mapping):
        raise InputError(f"decision field '{where}' must be an object")
    return Target(_text(value, "provider"), _text(value, "model"))


def _trace_entry(value: Any, index: int) -> TraceEntry:
    where = f"trace[{index}]"
    if not isinstance(value, Mapping):
        raise InputError(f"decision field '{where}' must be an object")
    looked = value.get("looked_at")
    if looked is not None and not isinstance(looked, Mapping):
        raise InputError(f"decision field '{where}.looked_at' must be an object")
    rule, verdict = value.get("rule"), value.get("verdict")
    if not isinstance(rule, str) or not isinstance(verdict, str):
        raise InputError(f"decision field '{where}' needs 'rule' and 'verdict' strings")
    return TraceEntry(rule, dict(looked or {}), verdict)


_ROLES = ("system", "user", "assistant")
_PROMPT_ONLY = frozenset(("prompt", "id"))
_PARAMS: dict[str, type | tuple[type, ...]] = {
    "max_tokens": int,
    "temperature": (int, float),
    "seed": int,
}


def request_json(request: Request) -> dict[str, Any]:
    """The request as a decision carries it to `llm run`: `Request.to_json()` (the schema
    inline under `json_schema`, a sha256 per image: what the cache keys on) plus each image's
    bytes, base64, under `data`. Inline, not a file path: a decision is self-contained (run
    later, elsewhere, or after the file changed, it sends what was routed); the sha256 is
    checked when it is read back, so an edited image is refused, not sent."""
    out = request.to_json()
    if request.attachments:
        out["attachments"] = [
            {**part, "data": image.base64()}
            for part, image in zip(out["attachments"], request.attachments, strict=True)
        ]
    return out


def request_from_json(obj: Any) -> Request:
    """A request object: {"prompt", "system"} or {"messages"}, plus generation parameters."""
    if type(obj) is dict and obj.keys() <= _PROMPT_ONLY:
        # The usual JSON line, {"prompt": "..."} and perhaps an id: the request the general
        # path below builds for it, without its ~20 checks (a test compares the two).
        prompt = obj.get("prompt")
        if type(prompt) is str and prompt.strip():
            return Request(messages=(Message("user", prompt),))
    if not isinstance(obj, Mapping):
        raise InputError("a request must be a JSON object")
    messages: list[Message] = []
    if obj.get("system") is not None:
        if not isinstance(obj["system"], str):
            raise InputError("'system' must be a string")
        messages.append(Message("system", obj["system"]))
    if "messages" in obj:
        raw = obj["messages"]
        if not isinstance(raw, list) or not raw:
            raise InputError("'messages' must be a non-empty list")
        for i, m in enumerate(raw, 1):
            if not isinstance(m, Mapping) or m.get("role") not in _ROLES:
                raise InputError(f"messages[{i}] needs a role of {', '.join(_ROLES)}")
            if not isinstance(m.get("content"), str):
                raise InputError(f"messages[{i}].content must be a string")
            messages.append(Message(m["role"], m["content"]))
    elif isinstance(obj.get("prompt"), str):
        if not obj["prompt"].strip():
            raise InputError("'prompt' is empty")
        messages.append(Message("user", obj["prompt"]))
    else:
        raise InputError("a request needs 'prompt' (a string) or 'messages' (a list)")
    params: dict[str, Any] = {}
    for key, types in _PARAMS.items():
        value = obj.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, types):
            raise InputError(f"'{key}' must be a number")
        params[key] = value
    if params.get("max_tokens") is not None and params["max_tokens"] < 1:
        raise InputError("'max_tokens' must be at least 1")
    stop = obj.get("stop")
    if stop is not None:
        if isinstance(stop, str):
            stop = [stop]
        if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
            raise InputError("'stop' must be a string or a list of strings")
        params["stop"] = tuple(stop)
    metadata = obj.get("metadata")
    if isinstance(metadata, Mapping):
        params["metadata"] = dict(metadata)
    if obj.get("json_schema") is not None:
        from convergio_llm.routing.schema import checked_schema

        params["schema"] = checked_schema(obj["json_schema"], "'json_schema'")
    if obj.get("attachments") is not None:
        params["attachments"] = _attachments(obj["attachments"])
    return Request(messages=tuple(messages), **params)


def _attachments(raw: Any) -> tuple[Attachment, ...]:
    """Images as `request_json` writes them: base64 `data` whose sha256 must match."""
    import base64
    import binascii
    import hashlib

    from convergio_llm.routing.inputs import sniff_image

    if not isinstance(raw, list):
        raise InputError("'attachments' must be a list")
    out: list[Attachment] = []
    for i, part in enumerate(raw, 1):
        where = f"attachments[{i}]"
        if not isinstance(part, Mapping) or not isinstance(part.get("data"), str):
            raise InputError(f"{where} needs 'data': the image, base64")
        try:
            data = base64.b64decode(part["data"], validate=True)
        except (binascii.Error, ValueError):
            raise InputError(f"{where}.data is not valid base64") from None
        digest = part.get("sha256")
        if digest is not None and digest != hashlib.sha256(data).hexdigest():
            raise InputError(f"{where}: the image does not match its sha256 (edited?)")
        media_type = sniff_image(data[:16])
        if media_type is None:
            raise InputError(f"{where}: not a PNG, JPEG or WebP image")
        name = part.get("name")
        out.append(Attachment(media_type, data, name if isinstance(name, str) else ""))
    return tuple(out)

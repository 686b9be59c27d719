"""The plain values a request is made of, and a provider's availability.

Split from providers/base.py (which re-exports all of it) so that `llm route`, which
needs requests but never a backend, does not pay for the provider machinery at start-up.
They are NamedTuples, not frozen dataclasses: as immutable, defined ~6x faster (every
`llm route` defines them) and built faster per request (`route --jsonl`).
"""

# Real annotations (no `from __future__ import annotations`): typing.NamedTuple would compile
# each string annotation of the records below at every start (tests/test_startup_imports.py).
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Literal, NamedTuple

Role = Literal["system", "user", "assistant"]


class Attachment(NamedTuple):
    """An image for a vision model (`-a`), sent with the request's last user turn."""

    media_type: str  # image/png | image/jpeg | image/webp, sniffed from its bytes
    data: bytes
    name: str = ""

    def base64(self) -> str:
        import base64

        return base64.b64encode(self.data).decode("ascii")


class Message(NamedTuple):
    role: Role
    content: str


# The one default for `Request.metadata`: shared by every request, so read-only.
NO_METADATA: Mapping[str, Any] = MappingProxyType({})


class Request(NamedTuple):
    messages: tuple[Message, ...]
    max_tokens: int | None = None
    temperature: float | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None
    metadata: Mapping[str, Any] = NO_METADATA
    # A JSON Schema the answer must match (`--schema`): each backend's native mechanism.
    schema: Mapping[str, Any] | None = None
    attachments: tuple[Attachment, ...] = ()

    @classmethod
    def from_prompt(cls, prompt: str, system: str | None = None, **params: Any) -> "Request":
        messages = [Message("system", system)] if system else []
        messages.append(Message("user", prompt))
        return cls(messages=tuple(messages), **params)

    @property
    def prompt_text(self) -> str:
        """All message text joined, for the features that look at the whole prompt."""
        return "\n".join(m.content for m in self.messages)

    @property
    def deterministic(self) -> bool:
        return self.temperature == 0 or self.seed is not None

    def with_params(self, **params: Any) -> "Request":
        return self._replace(**params)

    def to_json(self) -> dict[str, Any]:
        # By hand, not `asdict`: `llm route --jsonl` writes one of these per line.
        out: dict[str, Any] = {
            "messages": [{"role": m.role, "content": m.content} for m in self.messages]
        }
        if self.max_tokens is not None:
            out["max_tokens"] = self.max_tokens
        if self.temperature is not None:
            out["temperature"] = self.temperature
        if self.seed is not None:
            out["seed"] = self.seed
        if self.stop:
            out["stop"] = list(self.stop)
        if self.schema is not None:
            out["json_schema"] = dict(self.schema)
        if self.attachments:
            import hashlib

            out["attachments"] = [
                {
                    "name": a.name,
                    "media_type": a.media_type,
                    "sha256": hashlib.sha256(a.data).hexdigest(),
                }
                for a in self.attachments
            ]
        if self.metadata:
            out["metadata"] = dict(self.metadata)
        return out


def estimate_tokens(text: str) -> int:
    """A rough token count (~4 characters a token) for when a backend reports none."""
    return max(1, (len(text) + 3) // 4) if text else 0


class Availability(NamedTuple):
    ok: bool
    reason: str = ""
    # Unavailable for want of an API key: commands exit as for a rejected key (6), not 3.
    needs_key: bool = False

    def __bool__(self) -> bool:
        return self.ok


AVAILABLE = Availability(True)

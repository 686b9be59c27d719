"""The prompts `llm bench` measures: a small built-in set, or the user's file.

`--prompts FILE` is read as JSON Lines when its name ends in `.jsonl` or its first
non-blank line starts with `{` (the same objects `llm run --jsonl` reads:
`{"id", "prompt" | "messages", "system", "max_tokens"}`); otherwise every non-blank
line is one prompt, its id the line number.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from convergio_llm.providers.base import Request
from convergio_llm.providers.errors import InputError

# Varied lengths, because TTFT grows with the prompt and decode speed with the context.
BUILTIN: tuple[tuple[str, str], ...] = (
    ("short", "What is the capital of France?"),
    (
        "medium",
        "Explain in three short sentences why the sky looks blue during the day and red at sunset.",
    ),
    (
        "long",
        "Summarise the following notes in one paragraph for a colleague who missed the "
        "meeting. The team reviewed the quarterly roadmap. The data pipeline migration is "
        "two weeks late because the new storage cluster failed its load test; the vendor "
        "has shipped a firmware fix and the test will be repeated on Monday. The mobile "
        "release is on track for the end of the month, but the accessibility audit found "
        "eleven issues, four of them blocking, which the design team will fix this sprint. "
        "Hiring: two backend offers were accepted and one frontend candidate declined. The "
        "budget review moved to next Thursday at 3pm, and finance asked every lead to send "
        "updated cloud cost forecasts by Wednesday, including the expected savings from "
        "moving batch jobs to spot instances. Finally, the on-call rotation changes next "
        "week: each engineer now covers four days instead of seven, with a handover call.",
    ),
)
# Warms caches and loads the model; deliberately not one of the measured prompts, so a
# prefix cache cannot make the first measured sample look faster than it is.
WARMUP_PROMPT = "Count from one to five, in words."


@dataclass(frozen=True)
class Prompt:
    id: str
    request: Request

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, **self.request.to_json()}


def builtin_prompts(defaults: Mapping[str, Any]) -> list[Prompt]:
    return [Prompt(pid, Request.from_prompt(text, **defaults)) for pid, text in BUILTIN]


def warmup_prompt(defaults: Mapping[str, Any]) -> Prompt:
    return Prompt("warmup", Request.from_prompt(WARMUP_PROMPT, **defaults))


def read_prompts(path: str, defaults: Mapping[str, Any]) -> list[Prompt]:
    """Every prompt in the file; a bad line is a usage error naming the file and line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read prompts ({exc})") from None
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    if not lines:
        raise InputError(f"{path}: no prompts in the file")
    jsonl = path.endswith(".jsonl") or lines[0][1].lstrip().startswith("{")
    prompts = [
        _jsonl_prompt(path, n, line, defaults)
        if jsonl
        else Prompt(str(n), Request.from_prompt(line.strip(), **defaults))
        for n, line in lines
    ]
    ids = [p.id for p in prompts]
    if len(set(ids)) != len(ids):
        raise InputError(f"{path}: prompt ids must be unique")
    return prompts


def _jsonl_prompt(path: str, number: int, line: str, defaults: Mapping[str, Any]) -> Prompt:
    from convergio_llm.cli.io import parse_line

    try:
        item = parse_line(line, number, defaults)
    except InputError as exc:
        raise InputError(f"{path}:{number}: {exc}") from None
    if item.request is None:
        raise InputError(f"{path}:{number}: expected a prompt, not a decision object")
    return Prompt(item.id, item.request)

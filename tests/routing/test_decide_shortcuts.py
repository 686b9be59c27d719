"""Shortcuts on the `llm route --jsonl` path agree with the straightforward path."""

from __future__ import annotations

import json
from types import MappingProxyType
from typing import Any

import pytest

from convergio_llm.cli.io import _loads, parse_line, with_defaults
from convergio_llm.providers.base import Request
from convergio_llm.providers.errors import InputError
from convergio_llm.routing.decide import Policy, decide
from convergio_llm.routing.decision import request_from_json
from tests.routing.conftest import make_context

LINES: list[Any] = [
    {"prompt": "What is 2 + 2?"},
    {"prompt": "Explain recursion", "id": 7},
    {"prompt": "hi", "id": None},
    {"prompt": "   "},
    {"prompt": 3},
    {"id": "x"},
    {"prompt": "p", "max_tokens": 5},
    {"prompt": "p", "system": "be brief"},
    {"prompt": "p", "messages": [{"role": "user", "content": "q"}]},
]


@pytest.mark.parametrize("obj", LINES)
def test_prompt_only_shortcut_builds_the_general_paths_request(obj: dict[str, Any]) -> None:
    # A mapping that is not a dict takes the general path.
    def build(value: Any) -> Request | str:
        try:
            return request_from_json(value)
        except InputError as exc:
            return str(exc)

    assert build(obj) == build(MappingProxyType(obj))


DEFAULTS: list[dict[str, Any]] = [
    {"max_tokens": None, "temperature": None, "seed": None, "stop": None},
    {"max_tokens": 9, "temperature": None, "seed": None, "stop": ("x",), "system": "s"},
    {"system": ""},
    {},
]


@pytest.mark.parametrize("defaults", DEFAULTS)
def test_defaults_without_unset_values_fill_in_the_same(defaults: dict[str, Any]) -> None:
    request = Request.from_prompt("p")
    given = {k: v for k, v in defaults.items() if v is not None}
    assert with_defaults(request, given) == with_defaults(request, defaults)
    assert parse_line('{"prompt": "p"}', 1, given) == parse_line('{"prompt": "p"}', 1, defaults)


def test_one_privacy_entry_for_prompts_with_nothing_found_and_their_own_otherwise() -> None:
    context, policy = make_context(), Policy()
    plain = [decide(Request.from_prompt(p), context, policy) for p in ("hi", "what is pi?")]
    assert plain[0].trace[0] is plain[1].trace[0]
    fresh = decide(Request.from_prompt("what is pi?"), make_context(), Policy())
    assert fresh.trace[0] == plain[1].trace[0]
    assert fresh.to_json_text() == plain[1].to_json_text()
    private = decide(Request.from_prompt("mail ada@example.com"), context, policy)
    assert private.trace[0] is not plain[0].trace[0]
    assert private.trace[0].verdict == "local-only"
    assert private.trace[0].looked_at["findings"] == [{"kind": "email", "start": 5, "end": 20}]


JSON_LINES = [
    '{"prompt": "hi"}\n', '{"prompt": "hi"}', '{"prompt": "hi"} \r\n', '{"prompt": "hi"}x',
    '{"prompt": "hi"} {}', '{"prompt": "hi"', "{", "{}", '{"a": NaN}', '{"a": 1e999}\n',
    '"just text"', "[1]", "  {}", "\ufeff{}", "", "{}\x0c", '{"a": "\\ud800"}', "nul",
]  # fmt: skip


@pytest.mark.parametrize("line", JSON_LINES)
def test_line_decoding_is_json_loads(line: str) -> None:
    def decode(loads: Any) -> Any:
        try:
            return ("ok", loads(line))
        except json.JSONDecodeError as exc:
            return ("error", str(exc))

    assert repr(decode(_loads)) == repr(decode(json.loads))

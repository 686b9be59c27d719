"""Generated input for `route --jsonl` and `run --jsonl` (issue 14.9): no batch aborts, one
answer or error object per line, and nothing crosses a required boundary — checked at a
loopback Anthropic double, which records every request it receives.

The commands run in-process with their own streams (an Environment), so an exception that
would have been `internal error` escapes here and fails the test.
"""

from __future__ import annotations

import io
import json
import random
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convergio_llm.cli.context import Environment, ScrubbedStream
from convergio_llm.cli.route_impl import route_command
from convergio_llm.cli.run_impl import RunOptions, run_command
from convergio_llm.providers.registry import Registry
from convergio_llm.routing.config import parse_config
from convergio_llm.routing.context import Context
from convergio_llm.routing.decide import Policy
from convergio_llm.routing.decision import SCHEMA
from convergio_llm.routing.privacy import scan
from tests.conftest import CANARY
from tests.routing.conftest import make_context
from tests.servers.anthropic import AnthropicDouble

ERROR = "convergio-llm/error/v1"
IBAN = "IBAN DE89370400440532013000"
CLOUD = {"provider": "anthropic", "model": "claude-haiku-4-5"}


def _decision(prompt: str, **fields: Any) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "request": {"messages": [{"role": "user", "content": prompt}]},
        "provider": "fake",
        "model": "echo",
        "tier": "simple",
        "complexity": {"label": "simple", "score": 0.1},
        "estimated_cost_usd": 0.0,
        "local_only": False,
        "fallbacks": [],
        "trace": [{"rule": "privacy", "looked_at": {"flag": None}, "verdict": "pass"}],
        **fields,
    }


SEEDS: list[dict[str, Any]] = [
    {"prompt": "hello there"},
    {"id": 7, "prompt": "Explain the trade-offs of B-trees versus LSM trees", "max_tokens": 50},
    {
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "hello"},
            {"role": "user", "content": "and now?"},
        ],
        "temperature": 0.2,
        "stop": ["x"],
        "metadata": {"k": [1, 2]},
    },
    _decision("decided locally", fallbacks=[{"provider": "fake", "model": "lorem"}]),
    _decision(f"pay {IBAN}", local_only=True, provider="fake", model="fail", fallbacks=[CLOUD]),
    _decision(f"pay {IBAN} now", **CLOUD, fallbacks=[{"provider": "fake", "model": "echo"}]),
    _decision("a clean question for the cloud", **CLOUD),
]


@pytest.fixture
def double() -> Iterator[AnthropicDouble]:
    with AnthropicDouble(key=CANARY) as server:
        yield server


def _environment(double: AnthropicDouble, stdin: bytes, extra: str = "") -> Environment:
    config = parse_config(
        "tiers: {simple: 'fake:echo'}\n"
        f"providers: {{anthropic: {{base_url: '{double.url}', max_retries: 0}}}}\n" + extra
    )
    facts = make_context(keys=("anthropic",)).facts
    context = Context(config, Registry(config.providers, load_plugins=False), facts, {})
    return Environment(
        stdin=io.BytesIO(stdin),
        stdout=io.StringIO(),
        stderr=io.StringIO(),
        environ={},
        _config=config,
        _routing=context,
    )


def _lines_out(env: Environment) -> list[dict[str, Any]]:
    out = env.stdout.stream if isinstance(env.stdout, ScrubbedStream) else env.stdout
    assert isinstance(out, io.StringIO)
    # Split on "\n" only, as a JSONL reader does (str.splitlines also splits on U+0085).
    return [json.loads(line) for line in out.getvalue().split("\n") if line]


def _count(stdin: bytes) -> int:
    """Lines with something on them: blank ones are skipped, as the README says."""
    return sum(1 for raw in io.BytesIO(stdin) if raw.strip())


def _route(double: AnthropicDouble, stdin: bytes) -> list[dict[str, Any]]:
    env = _environment(double, stdin)
    route_command(env, None, {}, Policy(), jsonl=True, explain=False)
    return _lines_out(env)


def _run(
    double: AnthropicDouble, stdin: bytes, policy: Policy, extra: str = ""
) -> list[dict[str, Any]]:
    env = _environment(double, stdin, extra)
    options = RunOptions(policy=policy, jsonl=True, use_cache=False, use_ledger=False)
    run_command(env, options)
    return _lines_out(env)


def _sent_texts(double: AnthropicDouble) -> list[str]:
    texts = []
    for rec in double.requests:
        if rec.path.endswith("/messages"):
            body = rec.json()
            parts = [m["content"] for m in body["messages"]]
            system = body.get("system")
            parts += [system] if isinstance(system, str) else [b["text"] for b in system or []]
            texts.append("\n".join(p if isinstance(p, str) else json.dumps(p) for p in parts))
    return texts


# -- the seeded fuzz ---------------------------------------------------------------------

ODD_VALUES: list[Any] = [
    None, True, 0, -1, 10**30, 1.5, float("nan"), float("inf"), "", "high", "\ud800",
    "x" * 50, [], [1, "a"], {}, {"a": {"b": None}}, [[[[[[[[[[[[]]]]]]]]]]]],
    {"role": "user"}, SCHEMA, "convergio-llm/decision/v2", "anthropic", "fake",
]  # fmt: skip
ODD_TEXT = ['"', "\\", "{", "}", "[", "]", ",", ":", "\\ud800", "\\u00", "\x00", "NaN", " "]


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            yield from _paths(value, (*prefix, i))


def _mutate_structure(rng: random.Random, obj: Any) -> Any:
    obj = json.loads(json.dumps(obj))
    path = rng.choice(list(_paths(obj)))
    if not path:
        return rng.choice(ODD_VALUES)
    parent = obj
    for step in path[:-1]:
        parent = parent[step]
    action = rng.random()
    if action < 0.6:
        parent[path[-1]] = rng.choice(ODD_VALUES)
    elif action < 0.8 and isinstance(parent, dict):
        del parent[path[-1]]
    elif isinstance(parent, dict):
        parent[rng.choice(["bogus", "schema", "id", "local_only", "prompt"])] = rng.choice(
            ODD_VALUES
        )
    else:
        parent[path[-1]] = [parent[path[-1]]] * rng.randint(0, 3)
    return obj


def _mutate_text(rng: random.Random, text: str) -> bytes:
    data = text.encode()
    for _ in range(rng.randint(1, 3)):
        at = rng.randrange(len(data) + 1)
        action = rng.random()
        if action < 0.3:
            data = data[:at] + rng.choice(ODD_TEXT).encode() + data[at:]
        elif action < 0.5:
            data = data[:at] + data[at + rng.randint(1, 5) :]
        elif action < 0.6:
            data = data[:at]
        elif action < 0.8:
            data = data[:at] + bytes([rng.randrange(0x80, 0x100)]) + data[at + 1 :]
        else:
            data = data[:at] + b"[" * 600 + data[at:] + b"]" * 600
    return data.replace(b"\n", b" ")


def fuzz_lines(count: int, seed: int = 14) -> list[bytes]:
    rng = random.Random(seed)
    lines = []
    for _ in range(count):
        obj = rng.choice(SEEDS)
        if rng.random() < 0.5:
            for _ in range(rng.randint(1, 3)):
                obj = _mutate_structure(rng, obj)
            lines.append(json.dumps(obj).encode())
        else:
            lines.append(_mutate_text(rng, json.dumps(obj)))
    return lines


def test_3000_mutated_lines_abort_no_batch_through_route_and_run(double: AnthropicDouble) -> None:
    lines = fuzz_lines(3000)
    stdin = b"\n".join(lines) + b"\n"
    expected = _count(stdin)
    routed = _route(double, stdin)
    assert len(routed) == expected
    assert double.requests == []  # routing never sends
    private = _run(double, stdin, Policy(private=True))
    assert len(private) == expected
    assert _sent_texts(double) == []  # --private: nothing reached the cloud
    answered = _run(double, stdin, Policy())
    assert len(answered) == expected
    # Without an explicit choice, no request holding private data reached the cloud.
    sent = _sent_texts(double)
    assert sent, "the fuzz never exercised the cloud path"
    assert [t for t in sent if scan(t)] == []
    errors = sum(o["schema"] == ERROR for o in answered)
    assert 0 < errors < expected


# -- the property ------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
decision_objects = st.fixed_dictionaries(
    {"schema": st.sampled_from([SCHEMA, "convergio-llm/decision/v2"])},
    optional={
        "request": json_values
        | st.builds(lambda p: {"prompt": p}, st.text(max_size=40))
        | st.just({"messages": [{"role": "user", "content": f"pay {IBAN}"}]}),
        "provider": st.sampled_from(["fake", "anthropic", "nosuch", ""]) | json_values,
        "model": st.sampled_from(["echo", "fail", "claude-haiku-4-5"]) | json_values,
        "local_only": st.booleans() | json_values,
        "fallbacks": st.lists(st.sampled_from([CLOUD, {"provider": "fake", "model": "echo"}]))
        | json_values,
        "complexity": json_values,
        "tier": json_values,
        "trace": json_values,
        "estimated_cost_usd": json_values,
        "id": json_values,
    },
)
good_lines = st.builds(
    lambda i, p: json.dumps({"id": f"good-{i}", "prompt": p}).encode(),
    st.integers(0, 10**6),
    st.text(min_size=1, max_size=40).filter(str.strip),
)
any_lines = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    decision_objects.map(lambda v: json.dumps(v).encode()),
    st.text(max_size=60).map(lambda t: t.replace("\n", " ").encode("utf-8", "surrogatepass")),
    st.binary(max_size=40).map(lambda b: b.replace(b"\n", b" ")),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    lines=st.lists(st.one_of(any_lines, good_lines), min_size=1, max_size=8),
    good=good_lines,
    boundary=st.sampled_from(["--private", "--offline", "privacy.required"]),
)
def test_arbitrary_jsonl_gets_one_object_per_line_and_never_crosses_the_boundary(
    double: AnthropicDouble, lines: list[bytes], good: bytes, boundary: str
) -> None:
    double.requests.clear()
    stdin = b"\n".join([*lines, good]) + b"\n"
    expected = _count(stdin)
    good_ids = [json.loads(x)["id"] for x in [*lines, good] if x.startswith(b'{"id": "good-')]
    routed = _route(double, stdin)
    assert len(routed) == expected
    assert {o["id"] for o in routed if o["schema"] == SCHEMA} >= set(good_ids)
    policy = Policy(
        private=boundary == "--private" or None, offline=boundary == "--offline" or None
    )
    extra = "privacy: {required: true}\n" if boundary == "privacy.required" else ""
    ran = _run(double, stdin, policy, extra)
    assert len(ran) == expected
    assert {o["id"] for o in ran if o["schema"] != ERROR} >= set(good_ids)
    assert double.requests == []

"""Properties of every decision: valid JSON of the schema, deterministic, private stays local."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from convergio_llm.providers.base import Request
from convergio_llm.routing.decide import Policy, decide
from convergio_llm.routing.decision import RULES, SCHEMA, Decision
from tests.routing.conftest import CLOUD, make_context

prompts = st.text(min_size=1, max_size=300).filter(lambda s: s.strip())
policies = st.builds(
    Policy,
    model=st.none(),  # a NamedTuple: builds() fills every field not given here
    private=st.sampled_from([None, True, False]),
    offline=st.sampled_from([None, True, False]),
    quality=st.booleans(),
    profile=st.sampled_from([None, "free", "pro", "enterprise"]),
    complexity=st.sampled_from([None, "simple", "medium", "complex"]),
    platform=st.sampled_from([None, "apple-silicon", "other"]),
    budget_remaining=st.sampled_from([None, 0.0, 0.05, 100.0]),
    explain=st.booleans(),
)
contexts = st.fixed_dictionaries(
    {
        "keys": st.sampled_from([(), ("anthropic",), ("google", "openai"), CLOUD]),
        "online": st.booleans(),
        "ollama": st.booleans(),
    }
)


@settings(max_examples=150, deadline=None)
@given(prompt=prompts, policy=policies, ctx=contexts)
def test_decision_is_valid_json_and_deterministic(
    prompt: str, policy: Policy, ctx: dict[str, object]
) -> None:
    request = Request.from_prompt(prompt)
    first = decide(request, make_context(**ctx), policy)  # type: ignore[arg-type]
    second = decide(request, make_context(**ctx), policy)  # type: ignore[arg-type]
    text = json.dumps(first.to_json())
    assert text == json.dumps(second.to_json())
    obj = json.loads(text)
    assert obj["schema"] == SCHEMA
    assert {t["rule"] for t in obj["trace"]} <= set(RULES)
    assert 0.0 <= obj["complexity"]["score"] <= 1.0
    assert Decision.from_json(obj).to_json() == obj


@settings(max_examples=150, deadline=None)
@given(prompt=prompts, policy=policies, ctx=contexts)
def test_private_never_names_a_cloud_provider(
    prompt: str, policy: Policy, ctx: dict[str, object]
) -> None:

    private = policy._replace(private=True)
    decision = decide(Request.from_prompt(prompt), make_context(**ctx), private)  # type: ignore[arg-type]
    assert decision.local_only
    assert not [t for t in decision.targets if t.provider in CLOUD]


@settings(max_examples=150, deadline=None)
@given(
    prompt=prompts,
    policy=policies,
    ctx=contexts,
    item_id=st.sampled_from([None, "7", "é\u2028"]),
    params=st.fixed_dictionaries(
        {},
        optional={
            "system": st.text(max_size=20),
            "max_tokens": st.integers(1, 5000),
            "temperature": st.floats(0, 2),
            "seed": st.integers(0, 2**40),
            "stop": st.tuples(st.text(max_size=5)),
            "metadata": st.fixed_dictionaries({"tag": st.text(max_size=5), "odd": st.just({1})}),
        },
    ),
)
def test_json_text_is_write_json_of_to_json(
    prompt: str, policy: Policy, ctx: dict[str, object], item_id: str | None, params: dict
) -> None:
    """`llm route` writes `to_json_text()`; it must be what write_json made of `to_json()`
    (json.dumps with ensure_ascii=False, default=str), also a second time from the cache."""
    request = Request.from_prompt(prompt, **params)
    context = make_context(**ctx)  # type: ignore[arg-type]
    for _ in range(2):  # the second decision reuses the context's encoded trace entries
        decision = decide(request, context, policy, id=item_id)
        expected = json.dumps(decision.to_json(), ensure_ascii=False, default=str)
        assert decision.to_json_text() == expected

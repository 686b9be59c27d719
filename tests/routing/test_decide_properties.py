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
    private=st.sampled_from([None, True, False]),
    offline=st.sampled_from([None, True, False]),
    quality=st.booleans(),
    profile=st.sampled_from([None, "free", "pro", "enterprise"]),
    complexity=st.sampled_from([None, "simple", "medium", "complex"]),
    platform=st.sampled_from([None, "apple-silicon", "other"]),
    budget_remaining=st.sampled_from([None, 0.0, 0.05, 100.0]),
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
    from dataclasses import replace

    private = replace(policy, private=True)
    decision = decide(Request.from_prompt(prompt), make_context(**ctx), private)  # type: ignore[arg-type]
    assert decision.local_only
    assert not [t for t in decision.targets if t.provider in CLOUD]

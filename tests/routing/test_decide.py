"""The rule tree, branch by branch, with every fact pinned."""

from __future__ import annotations

from typing import Any

import pytest

from convergio_llm.providers.base import Request
from convergio_llm.providers.errors import InputError
from convergio_llm.providers.values import Message
from convergio_llm.routing.complexity import assess
from convergio_llm.routing.decide import Policy, decide
from convergio_llm.routing.decision import RULES, Decision
from tests.routing.conftest import CLOUD, make_context

SIMPLE = "What is the capital of France?"
MEDIUM = "Compare the causes of the French and American revolutions in two paragraphs."
COMPLEX = (
    "Implement a thread-safe LRU cache in Java with O(1) get and put, explain your locking "
    "strategy, and write unit tests that must cover eviction and concurrent access."
)
PRIVATE = "Email maria.rossi@example.org and ask her to prove the lemma step by step."


def route(prompt: str, policy: Policy | None = None, **ctx: Any) -> Decision:
    return decide(Request.from_prompt(prompt), make_context(**ctx), policy or Policy())


def verdicts(decision: Decision) -> dict[str, str]:
    return {t.rule: t.verdict for t in decision.trace}


def cloud_in(decision: Decision) -> list[str]:
    return [t.provider for t in decision.targets if t.provider in CLOUD]


@pytest.mark.parametrize(
    ("prompt", "policy", "ctx", "target", "deciding"),
    [
        # complexity alone
        (SIMPLE, Policy(), {}, "llamacpp:gemma-3-270m", "complexity"),
        (MEDIUM, Policy(complexity="medium"), {}, "anthropic:claude-haiku-4-5", "complexity"),
        (COMPLEX, Policy(), {}, "anthropic:claude-opus-4-5", "complexity"),
        # privacy beats everything below it
        (PRIVATE, Policy(), {}, "llamacpp:gemma-3-270m", "privacy"),
        (COMPLEX, Policy(private=True), {}, "llamacpp:gemma-3-270m", "privacy"),
        (
            COMPLEX,
            Policy(),
            {"config": {"privacy": {"required": True}}},
            "llamacpp:gemma-3-270m",
            "privacy",
        ),
        (
            COMPLEX,
            Policy(),
            {"config": {"privacy": {"terms": ["lru"]}}},
            "llamacpp:gemma-3-270m",
            "privacy",
        ),
        # offline: flag, environment, config, probe
        (COMPLEX, Policy(offline=True), {}, "llamacpp:gemma-3-270m", "offline"),
        (
            COMPLEX,
            Policy(),
            {"environ": {"CONVERGIO_LLM_OFFLINE": "1"}},
            "llamacpp:gemma-3-270m",
            "offline",
        ),
        (COMPLEX, Policy(), {"config": {"offline": True}}, "llamacpp:gemma-3-270m", "offline"),
        (COMPLEX, Policy(), {"online": False}, "llamacpp:gemma-3-270m", "offline"),
        # budget: ledger, flag, profile free
        (COMPLEX, Policy(), {"budget": 0.05}, "llamacpp:gemma-3-270m", "budget"),
        (
            COMPLEX,
            Policy(budget_remaining=0.01),
            {"budget": 50.0},
            "llamacpp:gemma-3-270m",
            "budget",
        ),
        (COMPLEX, Policy(profile="free"), {}, "llamacpp:gemma-3-270m", "budget"),
        (COMPLEX, Policy(), {"config": {"profile": "free"}}, "llamacpp:gemma-3-270m", "budget"),
        # platform picks the local engine
        (SIMPLE, Policy(), {"ollama": True}, "ollama:llama3.2:3b", "complexity"),
        (
            SIMPLE,
            Policy(),
            {"platform": "apple-silicon"},
            "mlx:mlx-community/Qwen3-0.6B-4bit",
            "complexity",
        ),
        (
            SIMPLE,
            Policy(platform="apple-silicon"),
            {},
            "mlx:mlx-community/Qwen3-0.6B-4bit",
            "complexity",
        ),
        # quality: flag or enterprise profile
        (SIMPLE, Policy(quality=True), {}, "anthropic:claude-opus-4-5", "quality"),
        (SIMPLE, Policy(profile="enterprise"), {}, "anthropic:claude-opus-4-5", "quality"),
        (SIMPLE, Policy(quality=True, private=True), {}, "llamacpp:gemma-3-270m", "privacy"),
        # overrides
        (PRIVATE, Policy(model="openai:gpt-5"), {}, "openai:gpt-5", "override"),
        (COMPLEX, Policy(complexity="simple"), {}, "llamacpp:gemma-3-270m", "complexity"),
        (SIMPLE, Policy(complexity="complex"), {}, "anthropic:claude-opus-4-5", "complexity"),
    ],
)
def test_rule_order(
    prompt: str, policy: Policy, ctx: dict[str, Any], target: str, deciding: str
) -> None:
    decision = route(prompt, policy, **ctx)
    assert f"{decision.provider}:{decision.model}" == target
    assert decision.reason.startswith(deciding + ":")
    rules = [t.rule for t in decision.trace if t.rule != "override"]
    assert rules == [r for r in RULES if r != "override"]  # every rule, in the seed's order
    assert decision.complexity["label"] in ("simple", "medium", "complex")


def test_every_rule_reports_even_after_privacy_decided() -> None:
    decision = route(PRIVATE + " " + COMPLEX, Policy(quality=True))
    v = verdicts(decision)
    assert v["privacy"] == "local-only"
    assert v["complexity"] == "cloud-top"
    assert v["quality"] == "cloud-top"
    assert decision.local_only
    assert cloud_in(decision) == []


def test_local_only_chain_never_holds_cloud() -> None:
    config = {"tiers": {"simple": "fake:fail", "medium": "openai:gpt-5-mini"}}
    decision = route(
        COMPLEX, Policy(private=True), config=config, local=("llamacpp", "ollama"), ollama=True
    )
    assert decision.targets[0].ref == "fake:fail"
    assert cloud_in(decision) == []
    assert [t.provider for t in decision.targets] == ["fake", "ollama", "llamacpp"]


def test_cloud_chain_falls_back_to_other_clouds_then_local() -> None:
    decision = route(COMPLEX)
    assert [t.ref for t in decision.targets] == [
        "anthropic:claude-opus-4-5",
        "openai:gpt-5",
        "google:gemini-2.5-pro",
        "llamacpp:gemma-3-270m",
    ]
    assert not decision.local_only


def test_missing_key_moves_to_next_cloud_provider() -> None:
    decision = route(COMPLEX, keys=("google",))
    assert decision.targets[0].ref == "google:gemini-2.5-pro"
    skipped = next(t for t in decision.trace if t.rule == "complexity").looked_at["skipped"]
    assert set(skipped) == {"anthropic", "openai"}


def test_no_cloud_key_routes_local_and_says_why() -> None:
    decision = route(COMPLEX, keys=())
    assert decision.provider == "llamacpp"
    assert "no cloud provider is available" in decision.reason
    assert not decision.local_only  # nothing forbade the cloud; it just was not there


def test_probe_drops_unreachable_provider() -> None:
    decision = route(COMPLEX, reachable={"anthropic": False, "openai": True, "google": False})
    assert cloud_in(decision) == ["openai"]
    offline = next(t for t in decision.trace if t.rule == "offline")
    assert offline.verdict == "pass" and offline.looked_at["reachable"]["anthropic"] is False


def test_probe_skipped_when_only_local_candidates() -> None:
    # A pinned 'reachable' that raises proves nobody asked for it.
    class Exploding(dict[str, bool]):
        def get(self, *args: object) -> bool:
            raise AssertionError("probed")

    decision = route(SIMPLE, reachable=Exploding())
    offline = next(t for t in decision.trace if t.rule == "offline")
    assert offline.looked_at["probe"] == "skipped: only local candidates"


@pytest.mark.parametrize(
    ("policy", "ctx"),
    [
        (Policy(offline=True), {}),
        (Policy(private=True), {}),
        (Policy(), {"environ": {"CONVERGIO_LLM_OFFLINE": "1"}}),
        (Policy(budget_remaining=0.0), {}),
    ],
)
def test_never_probes_when_already_local(policy: Policy, ctx: dict[str, Any]) -> None:
    context = make_context(**ctx)
    del context.facts["reachable"]
    context.facts["endpoints"] = dict.fromkeys(CLOUD, ("192.0.2.1", 443))  # guard would fire
    decision = decide(Request.from_prompt(COMPLEX), context, policy)
    assert decision.local_only


def test_configured_tiers_win_over_defaults() -> None:
    config = {"tiers": {"medium": "openai:gpt-5-mini", "complex": "google:gemini-2.5-pro"}}
    assert route(COMPLEX, config=config).targets[0].ref == "google:gemini-2.5-pro"
    medium = route(MEDIUM, Policy(complexity="medium"), config=config)
    assert medium.targets[0].ref == "openai:gpt-5-mini"


def test_cloud_preference_orders_fallbacks() -> None:
    config = {"routing": {"cloud_preference": ["google", "openai"]}}
    decision = route(COMPLEX, config=config, keys=("google", "openai"))
    assert [t.provider for t in decision.targets] == ["google", "openai", "llamacpp"]


def test_budget_trace_shows_remaining() -> None:
    decision = route(COMPLEX, budget=0.04)
    budget = next(t for t in decision.trace if t.rule == "budget")
    assert budget.looked_at["remaining_usd"] == 0.04
    assert budget.looked_at["threshold_usd"] == 0.10
    assert "$0.04 left" in decision.reason


def test_custom_threshold_and_budget_above_it() -> None:
    decision = route(COMPLEX, budget=0.5, config={"budgets": {"low_threshold_usd": 1.0}})
    assert decision.provider == "llamacpp"
    assert route(COMPLEX, budget=0.5).provider == "anthropic"


def test_override_is_recorded_and_wins() -> None:
    decision = route(SIMPLE, Policy(model="fake:echo", platform="apple-silicon"))
    assert decision.trace[0].rule == "override"
    assert decision.trace[0].looked_at == {"model": "fake:echo", "platform": "apple-silicon"}
    assert (decision.provider, decision.model) == ("fake", "echo")
    assert decision.fallbacks == ()


def test_explicit_private_refuses_a_cloud_model() -> None:
    with pytest.raises(InputError, match="--private keeps the request local"):
        route(SIMPLE, Policy(model="anthropic:claude-opus-4-5", private=True))
    assert route(SIMPLE, Policy(model="fake:echo", private=True)).local_only


@pytest.mark.parametrize(
    "policy",
    [Policy(profile="gold"), Policy(complexity="hard"), Policy(platform="windows")],
)
def test_bad_policy_values_are_usage_errors(policy: Policy) -> None:
    with pytest.raises(InputError):
        route(SIMPLE, policy)


def test_privacy_findings_name_kind_and_position_never_value() -> None:
    decision = route(PRIVATE)
    privacy = next(t for t in decision.trace if t.rule == "privacy")
    assert privacy.looked_at["findings"] == [{"kind": "email", "start": 6, "end": 29}]
    trace_text = str([t.to_json() for t in decision.trace])
    assert "maria.rossi" not in trace_text and "example.org" not in trace_text


def test_no_private_flag_allows_cloud_despite_findings() -> None:
    decision = route(PRIVATE + " " + COMPLEX, Policy(private=False))
    assert decision.provider == "anthropic"
    assert verdicts(decision)["privacy"] == "pass"


def test_costs_of_alternatives_are_in_the_trace() -> None:
    decision = route(COMPLEX, Policy(private=True, explain=True))
    alternatives = next(t for t in decision.trace if t.rule == "complexity").looked_at[
        "alternatives"
    ]
    assert alternatives["simple"] == {"target": "llamacpp:gemma-3-270m", "usd": 0.0}
    assert alternatives["complex"]["target"] == "anthropic:claude-opus-4-5"
    assert decision.estimated_cost_usd == 0.0


def test_output_estimate_is_capped_by_max_tokens() -> None:
    request = Request.from_prompt(COMPLEX, max_tokens=20)
    decision = decide(request, make_context(), Policy())
    tokens = next(t for t in decision.trace if t.rule == "complexity").looked_at["tokens"]
    assert tokens["output"] == 20


CODE_ANSWER = (
    "Here it is:\n\n```python\ndef fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n"
    "        a, b = b, a + b\n    return a\n```\n\nIt runs in O(n) time; fib(10) is 55."
)


def _conversation(*turns: tuple[str, str]) -> Request:
    return Request(messages=tuple(Message(role, text) for role, text in turns))  # type: ignore[arg-type]


def test_a_conversation_is_scored_by_what_the_user_asked_not_by_the_answers() -> None:
    asked = ("Write a Python function for the n-th Fibonacci number.", "Now prove it correct.")
    with_answer = _conversation(
        ("system", "Be brief."), ("user", asked[0]), ("assistant", CODE_ANSWER), ("user", asked[1])
    )
    other_answer = with_answer._replace(
        messages=(*with_answer.messages[:2], Message("assistant", "Sure."), with_answer.messages[3])
    )
    ctx = make_context()
    scores = [decide(r, ctx, Policy()).complexity["score"] for r in (with_answer, other_answer)]
    alone = assess("\n".join(asked)).score
    assert scores == [alone, alone]
    # The answer's code and length would have moved it (what the scorer reads matters).
    assert abs(assess("\n".join((asked[0], CODE_ANSWER, asked[1]))).score - alone) > 0.05
    # Privacy still reads every message: what leaves the machine is the whole conversation.
    leaky = _conversation(("user", asked[0]), ("assistant", "Mail maria.rossi@example.org"))
    assert decide(leaky, ctx, Policy()).local_only


def test_a_conversation_without_a_user_turn_is_still_scored() -> None:
    request = _conversation(("system", "Be brief."), ("assistant", CODE_ANSWER))
    assert (
        decide(request, make_context(), Policy()).complexity["score"] == assess(CODE_ANSWER).score
    )

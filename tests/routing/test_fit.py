"""The capability rule: targets that cannot serve a request are skipped with the reason in
the trace; a conversation too long for every target drops its oldest turns or is refused."""

from __future__ import annotations

from typing import Any

import pytest

from convergio_llm.providers.capabilities import capabilities
from convergio_llm.providers.errors import InputError, NoProviderAvailable
from convergio_llm.providers.values import Attachment, Message, Request
from convergio_llm.routing.decide import Policy, decide
from convergio_llm.routing.decision import Decision
from convergio_llm.routing.fit import fit
from tests.routing.conftest import make_context

PNG = Attachment("image/png", b"\x89PNG\r\n\x1a\n")
SCHEMA = {"type": "object"}
COMPLEX = (
    "Implement a thread-safe LRU cache in Java with O(1) get and put, explain your locking "
    "strategy, and write unit tests that must cover eviction and concurrent access."
)


def decided(request: Request, **ctx: Any) -> tuple[Decision, Any]:
    context = make_context(**ctx)
    return decide(request, context, Policy()), context


def entry(decision: Decision) -> Any:
    return next(t for t in decision.trace if t.rule == "capabilities")


def test_capabilities_come_from_one_place() -> None:
    assert capabilities("llamacpp", "gemma-3-270m", {"n_ctx": 2048}) == (2048, False, True)
    assert capabilities("mlx", "any") == (None, False, False)
    opus = capabilities("anthropic", "claude-opus-4-5")
    assert opus.vision and opus.structured
    assert opus.context_window == 200_000  # from the shipped price table, not a second copy
    assert not capabilities("openai", "gpt-3.5-turbo").vision


def test_an_image_skips_the_local_model_that_has_no_vision() -> None:
    request = Request.from_prompt("What is in this picture?", attachments=(PNG,))
    decision, context = decided(request)
    assert decision.provider == "llamacpp"  # what the rules alone chose
    assert [t.provider for t in decision.targets] == ["llamacpp"]
    fitted = fit(decision, context, policy=Policy())
    assert fitted.provider != "llamacpp"
    assert "llamacpp" not in [t.provider for t in fitted.targets]
    found = entry(fitted)
    assert found.verdict == "skip"
    assert found.looked_at["skipped"] == {
        "llamacpp:gemma-3-270m": "no vision: cannot take the image (-a)"
    }
    rules = [t.rule for t in fitted.trace]
    assert rules.index("capabilities") == rules.index("complexity") - 1


def test_an_image_with_no_vision_target_anywhere_is_refused_with_the_reasons() -> None:
    request = Request.from_prompt("What is in this picture?", attachments=(PNG,))
    decision, context = decided(request, keys=())
    with pytest.raises(NoProviderAvailable, match=r"llamacpp:gemma-3-270m: no vision"):
        fit(decision, context, policy=Policy())


def test_a_prompt_that_does_not_fit_the_local_window_goes_to_one_it_fits() -> None:
    long = "Summarise this log. " + "The service restarted after a timeout. " * 600
    # medium: a decision with cloud fallbacks, whatever the router makes of the prompt
    context = make_context(platform="other")
    decision = decide(Request.from_prompt(long), context, Policy(complexity="medium"))
    fitted = fit(replace_targets(decision, ("llamacpp", "gemma-3-270m")), context)
    assert fitted.provider == "anthropic"
    assert (
        "4096-token context window" in entry(fitted).looked_at["skipped"]["llamacpp:gemma-3-270m"]
    )


def replace_targets(decision: Decision, first: tuple[str, str]) -> Decision:
    """The same decision with `first` tried first (as a sticky conversation would)."""

    from convergio_llm.routing.decision import Target

    rest = tuple(t for t in decision.targets if t != Target(*first))
    return decision._replace(provider=first[0], model=first[1], fallbacks=rest)


def test_a_request_every_target_can_serve_keeps_its_targets() -> None:
    decision, context = decided(Request.from_prompt(COMPLEX))
    fitted = fit(decision, context, policy=Policy())
    assert fitted.targets == decision.targets
    assert entry(fitted).verdict == "pass"


def conversation(turns: int, words: int) -> Request:
    history: list[Message] = []
    for i in range(turns):
        history += [Message("user", f"question {i} " + "word " * words), Message("assistant", "ok")]
    return Request(messages=(*history, Message("user", "and now?")))


def test_history_too_long_for_every_target_drops_its_oldest_turns_with_a_notice() -> None:
    # ~1,880 tokens a turn, + 256 for the answer: two turns fit the 4096-token window, not three.
    request = conversation(turns=4, words=1500)
    decision, context = decided(request, keys=())
    notices: list[str] = []
    fitted = fit(decision, context, history_turns=4, notice=notices.append)
    assert notices == ["the conversation no longer fits: dropped its 2 oldest turn(s)"]
    kept = [m.content.split()[1] for m in fitted.request.messages if m.role == "user"]
    assert kept == ["2", "3", "now?"]


def test_history_too_long_is_refused_when_the_config_says_so() -> None:
    request = conversation(turns=4, words=1500)
    context = make_context(keys=(), config={"conversations": {"on_overflow": "refuse"}})
    decision = decide(request, context, Policy())
    with pytest.raises(InputError, match="no longer fits the context window of any target"):
        fit(decision, context, history_turns=4)


def test_an_ollama_model_too_small_for_the_prompt_is_skipped_by_its_own_window(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.servers.ollama import OllamaServer

    long = "Summarise this log. " + "The service restarted after a timeout. " * 300
    with OllamaServer(context_length=2048) as server:
        monkeypatch.setenv("OLLAMA_HOST", server.url)
        context = make_context(local=("ollama",), ollama=True, platform="other")
        decision = decide(Request.from_prompt(long), context, Policy(complexity="medium"))
        decision = replace_targets(decision, ("ollama", "llama3.2:3b"))
        try:
            fitted = fit(decision, context)
        finally:
            context.registry.close()
    assert fitted.provider != "ollama"
    reason = entry(fitted).looked_at["skipped"]["ollama:llama3.2:3b"]
    assert "2048-token context window" in reason  # /api/show's llama.context_length


def test_a_short_prompt_to_ollama_asks_nothing_of_its_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.servers.ollama import OllamaServer

    with OllamaServer() as server:
        monkeypatch.setenv("OLLAMA_HOST", server.url)
        context = make_context(local=("ollama",), ollama=True, platform="other")
        decision = decide(Request.from_prompt("hi"), context, Policy(complexity="simple"))
        decision = replace_targets(decision, ("ollama", "llama3.2:3b"))
        assert fit(decision, context) == decision
        assert not [r for r in server.requests if r.path == "/api/show"]

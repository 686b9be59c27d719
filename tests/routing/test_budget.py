"""Budgets: what is left, the check before a call, refusal versus falling through to local."""

from __future__ import annotations

from datetime import datetime

import pytest

from convergio_llm.cli.exit_status import ExitStatus, status_for
from convergio_llm.providers.base import Request
from convergio_llm.providers.registry import Registry
from convergio_llm.routing import budget
from convergio_llm.routing.accounting import make_hooks
from convergio_llm.routing.config import Config, parse_config
from convergio_llm.routing.context import Context
from convergio_llm.routing.decision import Decision, Target
from convergio_llm.routing.execute import ExecutionFailed, execute
from convergio_llm.routing.ledger import Row, open_ledger

# fake:echo at $1,000 per million tokens both ways: a 5-word prompt echoed back with
# max_tokens 5 is 5 + 5 tokens = $0.01, and the estimate (5 + max_tokens) is the same.
PRICED = 'prices:\n  "fake:echo": {input_per_mtok: 1000, output_per_mtok: 1000}\n'
PROMPT = "aaa bbb ccc ddd eee"  # 19 characters → 5 estimated tokens, 5 words


def context(extra: str = "") -> Context:
    config = parse_config(PRICED + extra)
    return Context(config, Registry(config.providers))


def request() -> Request:
    return Request.from_prompt(PROMPT, max_tokens=5)


def test_no_budget_means_none() -> None:
    assert budget.remaining_budget(Config()) is None
    assert budget.remaining_budget(context().config, "fake") is None


def test_remaining_is_the_tightest_limit() -> None:
    config = context(
        "budgets:\n  monthly_usd: 20\n  daily_usd: 2\n"
        "  per_provider: {openai: {monthly_usd: 10, daily_usd: 0.5}}\n"
    ).config
    assert budget.remaining_budget(config) == 2.0  # no ledger yet: nothing spent
    ledger = open_ledger()
    assert ledger is not None
    ledger.record(Row("openai", "gpt-4o", "ok", cost_usd=0.2))
    ledger.record(Row("anthropic", "claude-haiku-4-5", "ok", cost_usd=1.5))
    ledger.close()
    assert budget.remaining_budget(config) == pytest.approx(2.0 - 1.7)
    assert budget.remaining_budget(config, "openai") == pytest.approx(0.3)  # 0.5 - 0.2 < 2 - 1.7


def test_periods_start_at_local_midnight_and_the_first_of_the_month() -> None:
    now = datetime(2026, 11, 26, 15, 30).timestamp()
    assert budget.period_start("day", now) == datetime(2026, 11, 26).timestamp()
    assert budget.period_start("month", now) == datetime(2026, 11, 1).timestamp()


def test_the_estimate_uses_max_tokens_or_the_configured_default() -> None:
    config = context("budgets: {estimate_output_tokens: 100}\n").config
    assert budget.estimated_cost("fake", "echo", request(), config) == pytest.approx(0.01)
    unbounded = Request.from_prompt(PROMPT)
    # 5 input + 100 assumed output tokens at $1,000/Mtok
    assert budget.estimated_cost("fake", "echo", unbounded, config) == pytest.approx(0.105)


def test_a_budget_for_n_calls_lets_exactly_n_through() -> None:
    ctx = context("budgets: {daily_usd: 0.05}\n")
    hooks = make_hooks(ctx)
    answered = 0
    for _ in range(8):
        try:
            outcome = execute(Decision(request(), "fake", "echo"), ctx.registry, hooks=hooks)
        except ExecutionFailed as exc:
            assert status_for(exc) == ExitStatus.BUDGET_EXCEEDED
            assert "daily budget" in str(exc)
            continue
        assert outcome.cost_usd == pytest.approx(0.01)
        answered += 1
    assert answered == 5
    assert budget.remaining_budget(ctx.config) == pytest.approx(0.0)


def test_refuse_mode_refuses_the_whole_request_even_with_a_free_fallback() -> None:
    ctx = context("budgets: {daily_usd: 0.001}\n")
    decision = Decision(request(), "fake", "echo", fallbacks=(Target("fake", "lorem"),))
    with pytest.raises(ExecutionFailed) as info:
        execute(decision, ctx.registry, hooks=make_hooks(ctx))
    assert status_for(info.value) == ExitStatus.BUDGET_EXCEEDED
    assert [a.error_type for a in info.value.attempts] == ["BudgetExceeded"] * 2


def test_local_mode_falls_through_to_the_free_target() -> None:
    ctx = context("budgets: {daily_usd: 0.001, on_exceed: local}\n")
    decision = Decision(request(), "fake", "echo", fallbacks=(Target("fake", "lorem"),))
    outcome = execute(decision, ctx.registry, hooks=make_hooks(ctx))
    assert outcome.completion.model == "lorem"
    assert outcome.cost_usd == 0.0
    assert [a.outcome for a in outcome.attempts] == ["error", "ok"]
    ledger = open_ledger(create=False)
    assert ledger is not None
    outcomes = ledger.query("SELECT model, outcome, error_type FROM attempts ORDER BY id")
    ledger.close()
    assert outcomes == [("echo", "refused", "BudgetExceeded"), ("lorem", "ok", None)]


def test_per_provider_budget_only_binds_that_provider() -> None:
    ctx = context("budgets:\n  per_provider: {openai: {daily_usd: 0.001}}\n")
    outcome = execute(Decision(request(), "fake", "echo"), ctx.registry, hooks=make_hooks(ctx))
    assert outcome.cost_usd == pytest.approx(0.01)


def test_without_the_ledger_nothing_is_reserved_or_recorded() -> None:
    ctx = context("budgets: {daily_usd: 0.001}\n")
    hooks = make_hooks(ctx, use_ledger=False)
    outcome = execute(Decision(request(), "fake", "echo"), ctx.registry, hooks=hooks)
    assert outcome.cost_usd == pytest.approx(0.01)
    assert open_ledger(create=False) is None


def test_an_unreadable_ledger_leaves_no_budget_to_spend() -> None:
    from convergio_llm.routing.ledger import ledger_path

    ledger_path().parent.mkdir(parents=True)
    ledger_path().write_bytes(b"not a database" * 100)
    assert budget.remaining_budget(context("budgets: {daily_usd: 5}\n").config) == 0.0


def test_a_batch_is_priced_whole_at_the_batch_price_with_each_output_capped() -> None:
    config = Config(
        data={
            "prices": {
                "openai:m": {"input_per_mtok": 1.0, "output_per_mtok": 2.0, "batch_discount": 0.5}
            },
            "budgets": {"estimate_output_tokens": 100},
        }
    )
    open_ended = Request.from_prompt("x" * 400)  # ~100 input tokens
    bounded = Request.from_prompt("x" * 400).with_params(max_tokens=10)
    total, sent = budget.batch_plan("openai", "m", [open_ended, bounded], config)
    assert [r.max_tokens for r in sent] == [100, 10]
    price = budget.call_plan("openai", "m", open_ended, config)
    assert price is not None
    full = price.cost(100) + price.price.cost(price.input_tokens, 10)
    assert total == pytest.approx(full * 0.5)  # the batch discount
    assert budget.batch_plan("openai", "unpriced", [open_ended], config) == (None, [open_ended])

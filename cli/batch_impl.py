"""`llm run --jsonl --batch`, `--batch-status ID`, `--batch-results ID`: the cloud batch
APIs at half price (providers/batch.py), with the submitted batch remembered on disk
(routing/batches.py) so another process can collect it, days later.

A line goes into a batch only when its routing allows a cloud provider with a batch API
(the first such target of its decision); lines of one provider and model make one batch.
A private line (the privacy scan or `local_only` keeps it on this machine) is refused
with its line number, as an error object, and never leaves. Results are written in input
order, each with its id, as the same completion objects a normal `--jsonl` run writes;
each answer goes into the ledger once, at the provider's batch price.

Budgets hold for batches as for single calls (routing/budget.py): a batch's estimated
cost is reserved before it is sent, with a hold that outlives this process; a batch the
budget cannot pay is refused (exit 4), its lines by number; collecting the results
settles the hold. A target cooling down after a 429/529/5xx (routing/cooldown.py) is
skipped for the next batch target of the line, as `llm run` skips it for the next
fallback; with none left the line is refused with the cooldown's reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from convergio_llm.cli.context import Environment
from convergio_llm.cli.exit_status import ExitStatus, status_for
from convergio_llm.cli.io import Item, error_object, write_json
from convergio_llm.providers.base import Completion, Provider, Request
from convergio_llm.providers.batch import FAILED, BatchAdapter, BatchInfo
from convergio_llm.providers.errors import (
    BudgetExceeded,
    InputError,
    LLMError,
    NoProviderAvailable,
    ProviderError,
)
from convergio_llm.routing import batches
from convergio_llm.routing.decision import Decision, Target
from convergio_llm.routing.execute import Outcome

STATUS_SCHEMA = "convergio-llm/batch-status/v1"


class BatchNotReady(LLMError):
    """--batch-results on a batch the provider is still working on (exit 1: try later)."""


def adapter_for(kind: str) -> BatchAdapter | None:
    """The batch adapter for a provider kind, or None (local engines, Azure, Ollama...)."""
    if kind == "openai":
        from convergio_llm.providers.batch_openai import OpenAIBatches

        return OpenAIBatches()
    if kind == "anthropic":
        from convergio_llm.providers.batch_anthropic import AnthropicBatches

        return AnthropicBatches()
    if kind == "google":
        from convergio_llm.providers.batch_google import GoogleBatches

        return GoogleBatches()
    return None


def submit(
    env: Environment,
    items: Iterable[Item],
    decide: Callable[[Item], Decision],
    use_ledger: bool = True,
) -> int:
    """Decide every line, refuse the private ones, submit the rest: one batch per target."""
    status = ExitStatus.OK
    groups: dict[Target, list[tuple[Item, Request]]] = {}
    private: list[int] = []
    for item in items:
        try:
            if item.error is not None:
                raise item.error
            decision = decide(item)
            if _private(decision):
                private.append(item.line)
                raise NoProviderAvailable(
                    f"line {item.line}: private (routing keeps it on this machine): "
                    "refused from a cloud batch"
                )
            target = _batch_target(env, decision)
        except LLMError as exc:
            code = status_for(exc)
            write_json(env.stdout, error_object(item.id, item.line, exc, int(code)))
            if item.line not in private:
                env.warn(f"error: {_where(item, exc)}{exc}")
            status = status if status != ExitStatus.OK else code
            continue
        groups.setdefault(target, []).append((item, decision.request))
    if private:
        numbers = ", ".join(str(n) for n in private)
        env.warn(
            f"error: line(s) {numbers}: private, refused from a cloud batch "
            "(run them without --batch)"
        )
    ledger = _ledger(env, use_ledger)
    try:
        for target, lines in groups.items():
            try:
                _submit_group(env, target, lines, ledger)
            except LLMError as exc:
                # Refused by the budget, or the submit failed (a rejected key, the API
                # down): every line of that batch gets its error object, none is lost.
                code = status_for(exc)
                for item, _ in lines:
                    write_json(env.stdout, error_object(item.id, item.line, exc, int(code)))
                numbers = ", ".join(str(item.line) for item, _ in lines)
                verb = "refused" if isinstance(exc, BudgetExceeded) else "not submitted"
                env.warn(f"error: line(s) {numbers}: batch to {target.ref} {verb}: {exc}")
                status = status if status != ExitStatus.OK else code
    finally:
        if ledger is not None:
            ledger.close()
    return int(status)


def _private(decision: Decision) -> bool:
    """Kept local by routing, or found private by the scan even when -m named a cloud model:
    a batch sits on the provider's disk for a day, so -m does not overrule the scan here."""
    return decision.local_only or any(
        e.rule == "privacy" and e.verdict == "local-only" for e in decision.trace
    )


def _where(item: Item, exc: LLMError) -> str:
    return "" if str(exc).startswith("line ") else f"line {item.line}: "


def _batch_target(env: Environment, decision: Decision) -> Target:
    """The first target of the decision that is a cloud API with a batch API and is not
    cooling down (a cooling one is skipped, as a run skips it for the next fallback)."""
    context = env.routing
    cooling: LLMError | None = None
    for target in decision.targets:
        try:
            kind = context.registry.kind_of(target.provider)
            cloud = context.locality(target.provider) == "cloud"
        except LLMError:
            continue
        if not cloud or adapter_for(kind) is None:
            continue
        entry = context.cooling_down([target.provider]).get(target.provider)
        if entry is None:
            return target
        if cooling is None:
            from convergio_llm.routing.cooldown import refusal

            cooling = refusal(entry)
    if cooling is not None:
        raise cooling
    refs = ", ".join(t.ref for t in decision.targets) or "none"
    raise NoProviderAvailable(
        f"no target of this line's routing has a cloud batch API (targets: {refs})"
    )


def _submit_group(
    env: Environment, target: Target, lines: list[tuple[Item, Request]], ledger: Any
) -> None:
    provider, adapter = _backend(env, target.provider)
    sent = [batches.BatchLine(item.line, item.id, f"line-{item.line}") for item, _ in lines]
    reservation, capped = _reserve(env, target, [request for _, request in lines], ledger)
    requests = [(line.custom_id, request) for line, request in zip(sent, capped, strict=True)]
    try:
        batch_id = adapter.submit(provider, target.model, requests)
    except BaseException:
        if reservation is not None:
            ledger.release(reservation)
        raise
    record = batches.BatchRecord(
        batch_id,
        target.provider,
        provider.kind,
        target.model,
        sent,
        submitted_at=time.time(),
        reservation=reservation,
    )
    batches.save(record)
    env.warn(
        f"batch {batch_id}: {len(sent)} line(s) submitted to {target.ref}; "
        f"collect with `llm run --batch-results {batch_id}`"
    )


def _reserve(
    env: Environment, target: Target, requests: list[Request], ledger: Any
) -> tuple[int | None, list[Request]]:
    """Hold the batch's estimated cost against the budgets that apply (BudgetExceeded when
    it does not fit); the reservation's id (None: no budget, ledger or price) and the
    requests with their output capped to what was priced."""
    from convergio_llm.routing import budget

    config = env.routing.config
    found = budget.limits(config, target.provider)
    if ledger is None or not found:
        return None, requests
    estimate, capped = budget.batch_plan(target.provider, target.model, requests, config)
    if estimate is None:
        return None, requests
    held_until = time.time() + budget.BATCH_HOLD_S
    held = ledger.reserve(target.provider, estimate, budget.windows(found), held_until=held_until)
    return int(held), capped


def _backend(env: Environment, name: str) -> tuple[Provider, BatchAdapter]:
    provider = env.routing.registry.get(name)
    adapter = adapter_for(provider.kind)
    if adapter is None:
        raise InputError(f"{name} ({provider.kind}) has no batch API")
    return provider, adapter


def _lookup(
    env: Environment, batch_id: str
) -> tuple[batches.BatchRecord, Provider, BatchAdapter, BatchInfo]:
    record = batches.load(batch_id)
    provider, adapter = _backend(env, record.provider)
    return record, provider, adapter, adapter.status(provider, batch_id)


def show_status(env: Environment, batch_id: str, json_out: bool) -> int:
    record, _, _, info = _lookup(env, batch_id)
    if json_out:
        write_json(env.stdout, _status_json(record, info))
    else:
        counts = ", ".join(f"{k} {v}" for k, v in info.counts.items())
        extra = f": {info.message}" if info.message else ""
        env.stdout.write(
            f"{info.id}: {info.state} ({record.provider} says {info.provider_state}); "
            f"{len(record.lines)} line(s), {counts}{extra}\n"
        )
        env.stdout.flush()
    return int(ExitStatus.OK)


def _status_json(record: batches.BatchRecord, info: BatchInfo) -> dict[str, Any]:
    return {
        "schema": STATUS_SCHEMA,
        **info.to_json(),
        "provider": record.provider,
        "model": record.model,
        "lines": len(record.lines),
        "submitted_at": record.submitted_at,
        "collected_at": record.collected_at,
    }


def fetch_results(env: Environment, batch_id: str, use_ledger: bool) -> int:
    """Write every line's answer or error in input order; ledger rows the first time only."""
    record, provider, adapter, info = _lookup(env, batch_id)
    if not info.finished:
        raise BatchNotReady(
            f"batch {info.id} is still {info.provider_state} ({_counts(info.counts)}): "
            f"try again later (`llm run --batch-status {info.id}`)"
        )
    found = {} if info.state == FAILED else adapter.results(provider, info.id, record.model)
    missing = _never_ran(provider, info)
    ledger = _ledger(env, use_ledger) if record.collected_at is None else None
    status = ExitStatus.OK
    try:
        for line in record.lines:
            result = found.get(line.custom_id, missing)
            if isinstance(result, Completion):
                cost = _record(env, ledger, result)
                write_json(env.stdout, _completion_json(line.id, result, cost))
                continue
            code = status_for(result)
            write_json(env.stdout, error_object(line.id, line.line, result, int(code)))
            env.warn(f"error: line {line.line}: {result}")
            status = status if status != ExitStatus.OK else code
        if record.reservation is not None and record.collected_at is None:
            _settle(ledger, record.reservation)  # the answers' rows replace the hold
    finally:
        if ledger is not None:
            ledger.close()
    if record.collected_at is None:
        record.collected_at = time.time()
        batches.save(record)
    return int(status)


def _settle(ledger: Any, reservation: int) -> None:
    """Drop the batch's budget hold, also when collected with --no-ledger (no rows then)."""
    if ledger is not None:
        ledger.release(reservation)
        return
    from convergio_llm.routing.ledger import open_ledger

    own = open_ledger(create=False)
    if own is not None:
        try:
            own.release(reservation)
        finally:
            own.close()


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items())


def _never_ran(provider: Provider, info: BatchInfo) -> LLMError:
    """The error of a line the batch has no answer for."""
    why = f": {info.message}" if info.message else ""
    if info.state == FAILED:
        return ProviderError(f"batch {info.id} failed{why}", provider.name)
    return ProviderError(
        f"batch {info.id} ended ({info.provider_state}) before this request ran{why}",
        provider.name,
    )


def _ledger(env: Environment, use_ledger: bool) -> Any:
    if not use_ledger or not env.routing.config.get("ledger.enabled", True):
        return None
    from convergio_llm.routing.ledger import open_ledger

    return open_ledger()


def _record(env: Environment, ledger: Any, completion: Completion) -> float | None:
    """The answer's cost at the batch price, into the ledger (once per batch)."""
    from convergio_llm.providers.prices import price_for

    price = price_for(completion.provider, completion.model, env.routing.config)
    usage = completion.usage
    cost = None
    if price is not None:
        cost = price.cost(
            usage.input_tokens, usage.output_tokens, usage.cached_input_tokens, batch=True
        )
    if ledger is not None:
        from convergio_llm.routing.ledger import Row

        ledger.record(
            Row(
                provider=completion.provider,
                model=completion.model,
                outcome="ok",
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                cached_input_tokens=usage.cached_input_tokens,
                reasoning_tokens=usage.reasoning_tokens,
                usage_source=usage.source,
                cost_usd=cost,
                price_version=None if price is None else f"{price.version}+batch",
                ts=time.time(),
            )
        )
    return cost


def _completion_json(item_id: str, completion: Completion, cost: float | None) -> dict[str, Any]:
    from convergio_llm.cli.run_impl import completion_json

    obj = completion_json(item_id, Outcome(completion, cost_usd=cost))
    obj["batch"] = True
    return obj

"""The body of `llm run`, kept apart from its option declarations so start-up stays light."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from convergio_llm.cli.context import Environment
from convergio_llm.cli.exit_status import ExitStatus, status_for
from convergio_llm.cli.io import Item, error_object, read_items, write_json
from convergio_llm.providers.errors import LLMError, scrub
from convergio_llm.routing.continuation import (
    Thread,
    open_thread,
    remember_outcome,
    steer,
    with_history,
)
from convergio_llm.routing.decide import Policy, decide
from convergio_llm.routing.decision import Decision, Target
from convergio_llm.routing.execute import Attempt, ExecutionFailed, Hooks, Outcome, execute
from convergio_llm.routing.fit import fit
from convergio_llm.routing.inputs import with_inputs
from convergio_llm.routing.schema import checked_answer

COMPLETION_SCHEMA = "convergio-llm/completion/v1"


@dataclass(frozen=True)
class RunOptions:
    prompt: str | None = None
    defaults: dict[str, Any] = field(default_factory=dict)
    policy: Policy = field(default_factory=Policy)
    json_out: bool = False
    jsonl: bool = False
    use_cache: bool = True
    use_ledger: bool = True
    keep_alive: str | None = None
    continue_last: bool = False
    cid: str | None = None
    use_log: bool = True
    schema: str | None = None
    files: tuple[str, ...] = ()
    attachments: tuple[str, ...] = ()


def run_command(env: Environment, options: RunOptions) -> int:
    """Run every item; return the exit status (the first failure's, or 0)."""
    hooks = make_hooks(env, options)
    status = ExitStatus.OK
    json_lines = options.json_out or options.jsonl
    for item in read_items(env, options.prompt, options.jsonl, options.defaults):
        item_status = run_item(env, item, options, hooks, json_lines)
        if status == ExitStatus.OK:
            status = item_status
    return int(status)


def make_hooks(env: Environment, options: RunOptions) -> Hooks:
    """The ledger, budget and cache hooks for this run (imported here: sqlite3 is not light)."""
    from convergio_llm.routing.accounting import make_hooks as make

    return make(env.routing, use_cache=options.use_cache, use_ledger=options.use_ledger)


def decision_for(
    env: Environment, item: Item, options: RunOptions, thread: Thread | None = None
) -> Decision:
    history = thread is not None and bool(thread.history)
    inputs = (options.files, options.attachments, options.schema)
    if item.decision is not None:
        decision = item.decision
        if options.policy.model or history or any(inputs):
            # An explicit -m beats what was piped in: the user said so last.
            request = with_inputs(decision.request, *inputs)
            request = with_history(request, thread) if thread else request
            decision = decide(request, env.routing, options.policy)
    else:
        assert item.request is not None
        request = with_inputs(item.request, *inputs)
        request = with_history(request, thread) if thread else request
        decision = decide(request, env.routing, options.policy)
    if thread is not None:
        decision = steer(decision, thread, env.routing, options.policy)
    turns = len(thread.history) // 2 if thread is not None else 0
    decision = fit(decision, env.routing, turns, env.warn, options.policy)
    if options.keep_alive is not None:
        metadata = {**decision.request.metadata, "keep_alive": options.keep_alive}
        decision = replace(decision, request=decision.request.with_params(metadata=metadata))
    return decision


def run_item(
    env: Environment, item: Item, options: RunOptions, hooks: Hooks, json_lines: bool
) -> ExitStatus:
    out = env.stdout
    try:
        if item.error is not None:
            raise item.error
        thread = open_thread(
            continue_last=options.continue_last,
            cid=options.cid,
            use_log=options.use_log and options.use_ledger,
        )
        decision = decision_for(env, item, options, thread)
        # A --schema answer is shown only once it is checked, never streamed half-valid.
        on_text = None if json_lines or options.schema else _writer(env)

        def on_fallback(attempt: Attempt, nxt: Target) -> None:
            env.warn(
                f"{attempt.provider}:{attempt.model} failed ({attempt.message}); trying {nxt.ref}"
            )

        outcome = execute(
            decision, env.registry, on_text=on_text, hooks=hooks, on_fallback=on_fallback
        )
        parsed = checked_answer(decision.request, outcome.completion.text)
        conversation = remember_outcome(thread, item, decision, outcome)
    except LLMError as exc:
        status = status_for(exc)
        attempts = exc.attempts if isinstance(exc, ExecutionFailed) else []
        if json_lines:
            obj = error_object(item.id, item.line, exc, int(status))
            obj["attempts"] = [a.to_json() for a in attempts]
            write_json(out, obj)
        elif attempts and _wrote_text(attempts):
            out.write("\n")
            out.flush()
        where = f"line {item.line}: " if options.jsonl and not str(exc).startswith("line ") else ""
        env.warn(f"error: {where}{scrub(str(exc))}")
        return status
    if json_lines:
        obj = completion_json(item.id, outcome)
        obj["conversation_id"] = conversation.id if conversation else None
        if decision.request.schema is not None:
            obj["parsed"] = parsed
        write_json(out, obj)
    elif decision.request.schema is not None:
        out.write(json.dumps(parsed, ensure_ascii=False) + "\n")
        out.flush()
    else:
        if not outcome.completion.text.endswith("\n"):
            out.write("\n")
        out.flush()
    return ExitStatus.OK


def _wrote_text(attempts: list[Attempt]) -> bool:
    return any(a.error_type == "StreamInterrupted" for a in attempts)


def _writer(env: Environment) -> Any:
    out = env.stdout

    def write(text: str) -> None:
        out.write(text)
        out.flush()

    return write


def completion_json(item_id: str, outcome: Outcome) -> dict[str, Any]:
    c = outcome.completion
    return {
        "schema": COMPLETION_SCHEMA,
        "id": item_id,
        "text": c.text,
        "provider": c.provider,
        "model": c.model,
        "finish_reason": c.finish_reason,
        "usage": asdict(c.usage),
        "cost_usd": outcome.cost_usd,
        "timings": asdict(c.timings),
        "engine": dict(c.raw_stats),
        "cache_hit": outcome.cache_hit,
        "attempts": [a.to_json() for a in outcome.attempts],
    }

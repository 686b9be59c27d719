"""The body of `llm run`, kept apart from its option declarations so start-up stays light."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from convergio_llm.cli.context import Environment
from convergio_llm.cli.exit_status import ExitStatus, status_for
from convergio_llm.cli.io import Item, error_object, read_items, write_json
from convergio_llm.providers.errors import InputError, LLMError, scrub
from convergio_llm.routing.boundary import required_boundary
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

if TYPE_CHECKING:
    from convergio_llm.routing.shared_hooks import SharedHooks

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
    # Calls in flight at once for `--jsonl` lines served by servers and cloud APIs.
    concurrency: int = 1
    # Skip providers cooling down after a 429/529/5xx (routing/cooldown.py).
    use_cooldown: bool = True
    # Conversations, structured output and files (bodies: the conversations engineer).
    continue_last: bool = False
    cid: str | None = None
    use_log: bool = True
    schema: str | None = None
    files: tuple[str, ...] = ()
    attachments: tuple[str, ...] = ()
    # Cloud batch APIs (cli/batch_impl.py): submit the lines, or poll / collect a batch id.
    batch: bool = False
    batch_status: str | None = None
    batch_results: str | None = None


def run_command(env: Environment, options: RunOptions) -> int:
    """Run every item; return the exit status (the first failure's, or 0)."""
    if options.concurrency < 1:
        raise InputError(f"--concurrency must be at least 1 (got {options.concurrency})")
    if not options.use_cooldown:
        env.routing.facts["cooldown"] = {}  # routing (and a batch's targets) ignore the file
    if options.batch or options.batch_status is not None or options.batch_results is not None:
        return _batch_command(env, options)
    if options.jsonl and options.concurrency > 1 and (options.continue_last or options.cid):
        raise InputError(
            "-c/--cid with --jsonl needs --concurrency 1: each turn must see the answer before it"
        )
    hooks = make_hooks(env, options)
    try:
        with _sigterm_as_interrupt():
            return _run_items(env, options, hooks)
    finally:
        hooks.end_thread()


def _run_items(env: Environment, options: RunOptions, hooks: SharedHooks) -> int:
    items = read_items(env, options.prompt, options.jsonl, options.defaults)
    if options.concurrency > 1 and options.jsonl:
        from convergio_llm.cli.run_pipeline import Pipeline

        pipeline = Pipeline(
            env,
            options.concurrency,
            hooks,
            lambda item: decision_for(env, item, options),
            lambda own_env, item, decision: run_item(own_env, item, options, hooks, True, decision),
        )
        return pipeline.run(items)
    status = ExitStatus.OK
    json_lines = options.json_out or options.jsonl
    for item in items:
        item_status = run_item(env, item, options, hooks, json_lines)
        if status == ExitStatus.OK:
            status = item_status
    return int(status)


def _batch_command(env: Environment, options: RunOptions) -> int:
    from convergio_llm.cli import batch_impl

    chosen = [options.batch, options.batch_status is not None, options.batch_results is not None]
    if sum(chosen) > 1:
        raise InputError("--batch, --batch-status and --batch-results go one at a time")
    if options.batch_status is not None:
        return batch_impl.show_status(env, options.batch_status, options.json_out)
    if options.batch_results is not None:
        return batch_impl.fetch_results(env, options.batch_results, options.use_ledger)
    if not options.jsonl:
        raise InputError("--batch needs --jsonl: a batch is made of JSON lines")
    items = read_items(env, options.prompt, True, options.defaults)
    return batch_impl.submit(
        env, items, lambda item: decision_for(env, item, options), options.use_ledger
    )


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM ends a run as Ctrl-C does: the attempt in flight writes its ledger row
    (outcome interrupted) and settles its budget reservation before the process exits."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def make_hooks(env: Environment, options: RunOptions) -> SharedHooks:
    """The ledger, budget, cache, limit and cooldown hooks for this run, shared by its
    threads (imported here: sqlite3 is not light). A broken ledger fails here, in one line."""
    from convergio_llm.routing.accounting import make_hooks as make
    from convergio_llm.routing.cooldown import Book
    from convergio_llm.routing.limits import Limits
    from convergio_llm.routing.shared_hooks import SharedHooks

    context = env.routing
    hooks = SharedHooks(
        lambda: make(
            context, use_cache=options.use_cache, use_ledger=options.use_ledger, warn=env.warn
        ),
        context.config,
        Limits(context.config.providers),
        Book() if options.use_cooldown else None,
        lambda name: context.locality(name) == "in-process",
    )
    hooks.accounting()  # open this thread's ledger now, so a broken one fails before any call
    return hooks


def decision_for(
    env: Environment, item: Item, options: RunOptions, thread: Thread | None = None
) -> Decision:
    if item.cid and thread is None and options.concurrency > 1:
        # The pipeline decides ahead of the answers: this line's history is not yet known.
        raise InputError("'cid' needs --concurrency 1: a conversation's turns go one at a time")
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
        decision = decision._replace(request=decision.request.with_params(metadata=metadata))
    return decision


def run_item(
    env: Environment,
    item: Item,
    options: RunOptions,
    hooks: Hooks,
    json_lines: bool,
    decision: Decision | None = None,
) -> ExitStatus:
    """Run one item and write its answer or error; `decision` when already made."""
    out = env.stdout
    try:
        if item.error is not None:
            raise item.error
        thread = open_thread(
            continue_last=options.continue_last and not item.cid,
            cid=item.cid or options.cid,  # a JSON line's own "cid" first
            use_log=options.use_log and options.use_ledger,
        )
        if decision is None:
            decision = decision_for(env, item, options, thread)
        note = getattr(hooks, "note_decision", None)  # the ledger's routing columns
        if note is not None:
            note(decision)
        # A --schema answer is shown only once it is checked, never streamed half-valid.
        # (The schema may have come in a piped decision, not from --schema.)
        checked = decision.request.schema is not None
        on_text = None if json_lines or checked else _writer(env)

        def on_fallback(attempt: Attempt, nxt: Target) -> None:
            if attempt.outcome == "refused":
                env.warn(f"{attempt.message}; trying {nxt.ref}")
                return
            env.warn(
                f"{attempt.provider}:{attempt.model} failed ({attempt.message}); trying {nxt.ref}"
            )

        outcome = execute(
            decision,
            env.registry,
            on_text=on_text,
            hooks=hooks,
            on_fallback=on_fallback,
            boundary=required_boundary(env.routing, options.policy, decision),
            on_notice=env.warn,
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
    # Each token is flushed as it comes, but not a tail held back as maybe half a secret
    # (cli/context.py): the next token, or the answer's end, releases it.
    flush = getattr(out, "flush_ready", out.flush)

    def write(text: str) -> None:
        out.write(text)
        flush()

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

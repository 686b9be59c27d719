"""The body of `llm route`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from convergio_llm.cli.context import Environment
from convergio_llm.cli.io import Item, error_object, json_line, read_items
from convergio_llm.providers.errors import InputError, LLMError
from convergio_llm.routing.decide import Policy, decide

if TYPE_CHECKING:
    from convergio_llm.providers.values import Request
    from convergio_llm.routing.decision import Decision

Inputs = tuple[tuple[str, ...], tuple[str, ...], str | None]  # -f files, -a images, --schema
NO_INPUTS: Inputs = ((), (), None)


def route_command(
    env: Environment,
    prompt: str | None,
    defaults: dict[str, Any],
    policy: Policy,
    jsonl: bool,
    explain: bool,
    inputs: Inputs = NO_INPUTS,
) -> int:
    if jsonl and prompt in (None, "-") and not explain and not any(inputs):
        # Many lines may be waiting: decided in worker processes past the first thousand.
        from convergio_llm.cli.route_parallel import route_lines, workers_for

        workers = workers_for(env)
        if workers > 1:
            return route_lines(env, defaults, policy, workers)
    status = 0  # ExitStatus.OK: cli/exit_status.py is imported with the first error (start-up)
    for item in read_items(env, prompt, jsonl, defaults):
        decision, line, warning, code = route_item(env, item, policy, jsonl, inputs)
        status = status or code
        if decision is not None and explain:
            from convergio_llm.cli.explain import render
            from convergio_llm.cli.width import terminal_width

            width = terminal_width(env.stderr)
            env.stderr.write(render(decision, color=width is not None, width=width))
            env.stderr.flush()
        if line is not None:
            env.stdout.write(line)  # the Environment scrubs secrets
            env.stdout.flush()
        if warning is not None:
            env.warn(warning)
    return int(status)


def route_item(
    env: Environment, item: Item, policy: Policy, jsonl: bool, inputs: Inputs
) -> tuple[Decision | None, str | None, str | None, int]:
    """One item's decision, the line to print for it (the decision, or with --jsonl the
    error object), the warning for stderr, and its exit status (0 when decided)."""
    try:
        if item.error is not None:
            raise item.error
        if item.decision is not None:
            raise InputError("this is already a decision; pipe it into `llm run`")
        assert item.request is not None
        request = item.request
        if any(inputs):
            request = _with_inputs(request, inputs)
        decision = decide(request, env.routing, policy, id=item.id if jsonl else None)
        if any(inputs):
            from convergio_llm.routing.fit import fit

            # As `llm run` would: targets that cannot take the image or schema go.
            decision = fit(decision, env.routing, notice=env.warn, policy=policy)
    except LLMError as exc:
        from convergio_llm.cli.exit_status import status_for

        code = int(status_for(exc))
        # With --jsonl the error takes the line's place (the Environment scrubs it).
        line = json_line(error_object(item.id, item.line, exc, code)) if jsonl else None
        return None, line, f"error: {exc}", code
    # json.dumps(decision.to_json()), with the trace entries encoded once.
    return decision, decision.to_json_text() + "\n", None, 0


def _with_inputs(request: Request, inputs: Inputs) -> Request:
    # Imported here: reading files and checking schemas is no part of a plain `llm route`.
    from convergio_llm.routing.inputs import with_inputs

    return with_inputs(request, *inputs)

"""The body of `llm route`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from convergio_llm.cli.context import Environment
from convergio_llm.cli.io import error_object, read_items, write_json
from convergio_llm.providers.errors import InputError, LLMError
from convergio_llm.routing.decide import Policy, decide

if TYPE_CHECKING:
    from convergio_llm.providers.values import Request


def route_command(
    env: Environment,
    prompt: str | None,
    defaults: dict[str, Any],
    policy: Policy,
    jsonl: bool,
    explain: bool,
    inputs: tuple[tuple[str, ...], tuple[str, ...], str | None] = ((), (), None),
) -> int:
    status = 0  # ExitStatus.OK: cli/exit_status.py is imported with the first error (start-up)
    for item in read_items(env, prompt, jsonl, defaults):
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

            code = status_for(exc)
            status = status or code
            if jsonl:
                write_json(env.stdout, error_object(item.id, item.line, exc, int(code)))
            env.warn(f"error: {exc}")
            continue
        if explain:
            from convergio_llm.cli.explain import render
            from convergio_llm.cli.width import terminal_width

            width = terminal_width(env.stderr)
            env.stderr.write(render(decision, color=width is not None, width=width))
            env.stderr.flush()
        # write_json(env.stdout, decision.to_json()), with the trace entries encoded once.
        env.stdout.write(decision.to_json_text() + "\n")  # the Environment scrubs secrets
        env.stdout.flush()
    return int(status)


def _with_inputs(request: Request, inputs: tuple[Any, Any, Any]) -> Request:
    # Imported here: reading files and checking schemas is no part of a plain `llm route`.
    from convergio_llm.routing.inputs import with_inputs

    return with_inputs(request, *inputs)

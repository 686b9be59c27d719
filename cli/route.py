"""`llm route`: decide where a prompt goes, without calling any model."""

from __future__ import annotations

from typing import Any

import click

from convergio_llm.cli import options as opt
from convergio_llm.cli.context import Environment
from convergio_llm.cli.errors import finish, guard


@click.command()
@opt.prompt_argument
@opt.target_options
@opt.generation_options
@opt.jsonl_option
@click.option("--explain", is_flag=True, help="Explain the decision on stderr.")
@opt.routing_options
@opt.dry_run_options
@click.pass_obj
@guard
def route(env: Environment, /, prompt: str | None, **flags: Any) -> None:
    """Decide which provider and model should answer, and print the decision as JSON.

    Privacy, then offline, then budget, then platform, then complexity, then quality.
    Pipe it into `llm run` to execute it.
    """
    from convergio_llm.cli.route_impl import route_command

    defaults, policy = opt.request_defaults(flags), opt.policy_from(flags)
    finish(route_command(env, prompt, defaults, policy, flags["jsonl"], flags["explain"]))

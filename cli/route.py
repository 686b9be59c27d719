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
    from convergio_llm.routing.decide import Policy

    defaults = opt.generation_defaults(
        flags["max_tokens"], flags["temperature"], flags["seed"], flags["stop"]
    )
    if flags["system"] is not None:
        defaults["system"] = flags["system"]
    policy = Policy(
        model=flags["model"] or flags["provider"],
        private=flags["private"],
        offline=flags["offline"],
        quality=flags["quality"],
        profile=flags["profile"],
        complexity=flags["complexity"],
        platform=flags["platform"],
        budget_remaining=flags["budget_remaining"],
        explain=flags["explain"],
    )
    finish(route_command(env, prompt, defaults, policy, flags["jsonl"], flags["explain"]))

"""`llm run`: generate, streaming; execute a decision piped in from `llm route`."""

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
@opt.json_option
@opt.jsonl_option
@opt.routing_options
@click.option("--no-cache", is_flag=True, help="Neither read nor write the response cache.")
@click.option("--no-ledger", is_flag=True, help="Do not record this run in the cost ledger.")
@click.option(
    "--keep-alive", help="Ollama: how long to keep the model loaded (5m, -1 forever, 0 unload)."
)
@click.pass_obj
@guard
def run(env: Environment, /, prompt: str | None, **flags: Any) -> None:
    """Generate a response, streaming it to stdout.

    Reads the prompt from the argument or stdin. A decision object from `llm route`
    on stdin is executed as given, fallbacks included.
    """
    from convergio_llm.cli.run_impl import RunOptions, run_command

    options = RunOptions(
        prompt=prompt,
        defaults=opt.request_defaults(flags),
        policy=opt.policy_from(flags),
        json_out=flags["json_out"],
        jsonl=flags["jsonl"],
        use_cache=not flags["no_cache"],
        use_ledger=not flags["no_ledger"],
        keep_alive=flags["keep_alive"],
    )
    finish(run_command(env, options))

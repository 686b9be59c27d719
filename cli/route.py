"""`llm route`: decide where a prompt goes, without calling any model.

`llm route eval …` and `llm route calibrate …` are sub-commands, recognised only as the
first argument (declared in route_sub.py, imported and built only when named), so
`llm route` keeps taking a prompt and a prompt that is literally "eval" can come on stdin.
"""

# No `from __future__ import annotations`: Typer reads each parameter's annotation, and
# string annotations would be compiled and evaluated twice per command it builds.

from typing import Any

import typer

from convergio_llm.cli import options as opt
from convergio_llm.cli.errors import finish, guard

SUBCOMMANDS = ("eval", "calibrate")


class RouteCommand(typer.core.TyperCommand):
    """`llm route [PROMPT]`, or one of SUBCOMMANDS when it is the first argument."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: Any = None,
        **extra: Any,
    ) -> Any:
        if args and args[0] in SUBCOMMANDS:
            from convergio_llm.cli.route_sub import APPS

            sub = typer.main.get_command(APPS[args[0]])
            return sub.make_context(f"{info_name} {args[0]}", args[1:], parent=parent, **extra)
        return super().make_context(info_name, args, parent=parent, **extra)


app = typer.Typer(**opt.APP_SETTINGS)


@app.command(cls=RouteCommand)
@guard
def route(
    ctx: typer.Context,
    prompt: opt.Prompt = None,
    model: opt.Model = None,
    provider: opt.Provider = None,
    system: opt.System = None,
    max_tokens: opt.MaxTokens = None,
    temperature: opt.Temperature = None,
    seed: opt.Seed = None,
    stop: opt.Stop = None,
    schema: opt.Schema = None,
    files: opt.Files = None,
    attachments: opt.Attachments = None,
    jsonl: opt.Jsonl = False,
    explain: opt.Explain = False,
    private: opt.Private = None,
    offline: opt.Offline = None,
    quality: opt.Quality = False,
    profile: opt.Profile = None,
    complexity: opt.Complexity = None,
    platform: opt.Platform = None,
    budget_remaining: opt.BudgetRemaining = None,
) -> None:
    """Decide which provider and model should answer, and print the decision as JSON.

    Privacy, then offline, then budget, then platform, then complexity, then quality.
    Pipe it into `llm run` to execute it; the decision carries --schema and -a images
    with it (-f text is in its prompt), and its targets are those that can take them.

    Sub-commands, when first: `llm route eval FILE` scores the router on a labelled set;
    `llm route calibrate [FILE]` fits its thresholds (see `llm route eval --help`). To
    route a prompt that is literally "eval" or "calibrate", pipe it on stdin.
    """
    from convergio_llm.cli.route_impl import route_command

    defaults = opt.request_defaults(
        system=system, max_tokens=max_tokens, temperature=temperature, seed=seed, stop=stop
    )
    policy = opt.policy_from(
        model=model,
        provider=provider,
        private=private,
        offline=offline,
        quality=quality,
        profile=profile,
        complexity=complexity,
        platform=platform,
        budget_remaining=budget_remaining,
        explain=explain,
    )
    inputs = (tuple(files or ()), tuple(attachments or ()), schema)
    finish(route_command(ctx.obj, prompt, defaults, policy, jsonl, explain, inputs))

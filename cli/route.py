"""`llm route`: decide where a prompt goes, without calling any model."""

from __future__ import annotations

from typing import Annotated

import typer

from convergio_llm.cli import options as opt
from convergio_llm.cli.errors import guard


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
    jsonl: opt.Jsonl = False,
    explain: Annotated[
        bool, typer.Option("--explain", help="Explain the decision on stderr.")
    ] = False,
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
    Pipe it into `llm run` to execute it.
    """
    from convergio_llm.cli.route_impl import route_command
    from convergio_llm.routing.decide import Policy

    defaults = opt.generation_defaults(max_tokens, temperature, seed, stop)
    if system is not None:
        defaults["system"] = system
    policy = Policy(
        model=model or provider,
        private=private,
        offline=offline,
        quality=quality,
        profile=profile,
        complexity=complexity,
        platform=platform,
        budget_remaining=budget_remaining,
        explain=explain,
    )
    raise typer.Exit(route_command(ctx.obj, prompt, defaults, policy, jsonl, explain))

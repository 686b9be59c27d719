"""`llm run`: generate, streaming; execute a decision piped in from `llm route`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from convergio_llm.cli import options as opt
from convergio_llm.cli.errors import guard


@guard
def run(
    ctx: typer.Context,
    prompt: opt.Prompt = None,
    model: opt.Model = None,
    provider: opt.Provider = None,
    system: opt.System = None,
    max_tokens: opt.MaxTokens = None,
    temperature: opt.Temperature = None,
    seed: opt.Seed = None,
    stop: opt.Stop = None,
    json_out: opt.Json = False,
    jsonl: opt.Jsonl = False,
    private: opt.Private = None,
    offline: opt.Offline = None,
    quality: opt.Quality = False,
    profile: opt.Profile = None,
    complexity: opt.Complexity = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Neither read nor write the response cache.")
    ] = False,
    no_ledger: Annotated[
        bool, typer.Option("--no-ledger", help="Do not record this run in the cost ledger.")
    ] = False,
    keep_alive: Annotated[
        str | None,
        typer.Option(
            "--keep-alive",
            help="Ollama: how long to keep the model loaded (5m, -1, 0).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Generate a response, streaming it to stdout.

    Reads the prompt from the argument or stdin. A decision object from `llm route`
    on stdin is executed as given, fallbacks included.
    """
    from convergio_llm.cli.run_impl import RunOptions, run_command
    from convergio_llm.routing.decide import Policy

    defaults: dict[str, Any] = opt.generation_defaults(max_tokens, temperature, seed, stop)
    if system is not None:
        defaults["system"] = system
    policy = Policy(
        model=model or provider,
        private=private,
        offline=offline,
        quality=quality,
        profile=profile,
        complexity=complexity,
    )
    options = RunOptions(
        prompt=prompt,
        defaults=defaults,
        policy=policy,
        json_out=json_out,
        jsonl=jsonl,
        use_cache=not no_cache,
        use_ledger=not no_ledger,
        keep_alive=keep_alive,
    )
    raise typer.Exit(run_command(ctx.obj, options))

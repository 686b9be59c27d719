"""`llm run`: generate, streaming; execute a decision piped in from `llm route`."""

# No `from __future__ import annotations`: Typer reads each parameter's annotation, and
# string annotations would be compiled and evaluated twice per command it builds.

from typing import Annotated

import typer

from convergio_llm.cli import options as opt
from convergio_llm.cli.errors import finish, guard

app = typer.Typer(**opt.APP_SETTINGS)


@app.command()
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
            help="Ollama: how long to keep the model loaded (5m, -1 forever, 0 unload).",
        ),
    ] = None,
    concurrency: Annotated[
        int,
        typer.Option(
            "--concurrency",
            min=1,
            metavar="N",
            help="With --jsonl: requests in flight at once (results keep input order).",
        ),
    ] = 1,
    no_cooldown: Annotated[
        bool,
        typer.Option(
            "--no-cooldown", help="Try a provider even if it failed moments ago (no cool-down)."
        ),
    ] = False,
    continue_last: Annotated[
        bool, typer.Option("--continue", "-c", help="Continue the last conversation.")
    ] = False,
    cid: Annotated[
        str | None, typer.Option("--cid", metavar="ID", help="Continue this conversation.")
    ] = None,
    no_log: Annotated[
        bool, typer.Option("--no-log", help="Do not keep this exchange in the conversation log.")
    ] = False,
    schema: opt.Schema = None,
    files: opt.Files = None,
    attachments: opt.Attachments = None,
    batch: Annotated[
        bool, typer.Option("--batch", help="Submit the JSONL input as one provider batch.")
    ] = False,
    batch_status: Annotated[
        str | None,
        typer.Option("--batch-status", metavar="ID", help="Show a submitted batch's status."),
    ] = None,
    batch_results: Annotated[
        str | None,
        typer.Option("--batch-results", metavar="ID", help="Print a finished batch's results."),
    ] = None,
) -> None:
    """Generate a response, streaming it to stdout.

    Reads the prompt from the argument or stdin. A decision object from `llm route`
    on stdin is executed as given, fallbacks included.
    """
    from convergio_llm.cli.run_impl import RunOptions, run_command

    options = RunOptions(
        prompt=prompt,
        defaults=opt.request_defaults(
            system=system, max_tokens=max_tokens, temperature=temperature, seed=seed, stop=stop
        ),
        policy=opt.policy_from(
            model=model,
            provider=provider,
            private=private,
            offline=offline,
            quality=quality,
            profile=profile,
            complexity=complexity,
        ),
        json_out=json_out,
        jsonl=jsonl,
        use_cache=not no_cache,
        use_ledger=not no_ledger,
        keep_alive=keep_alive,
        concurrency=concurrency,
        use_cooldown=not no_cooldown,
        continue_last=continue_last,
        cid=cid,
        use_log=not no_log,
        schema=schema,
        files=tuple(files or ()),
        attachments=tuple(attachments or ()),
        batch=batch,
        batch_status=batch_status,
        batch_results=batch_results,
    )
    finish(run_command(ctx.obj, options))

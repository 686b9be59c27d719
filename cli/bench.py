"""`llm bench`: the same prompts on every backend, side by side."""

# No `from __future__ import annotations`: Typer reads each parameter's annotation, and
# string annotations would be compiled and evaluated twice per command it builds.

from typing import Annotated

import typer

from convergio_llm.cli import options as opt
from convergio_llm.cli.errors import finish, guard

app = typer.Typer(**opt.APP_SETTINGS)


@app.command()
@guard
def bench(
    ctx: typer.Context,
    models: Annotated[
        list[str] | None,
        typer.Option("--model", "-m", help="provider:model to measure (repeatable)."),
    ] = None,
    providers: opt.Providers = None,
    prompts: Annotated[
        str | None,
        typer.Option(
            "--prompts",
            metavar="FILE",
            help="Prompts file: one prompt per line, or JSON Lines "
            "(.jsonl, or first line '{'). Default: a built-in set of three lengths.",
        ),
    ] = None,
    repetitions: Annotated[
        int, typer.Option("--repetitions", "-n", min=1, help="Repetitions of every prompt.")
    ] = 5,
    warmup: Annotated[
        int,
        typer.Option(
            "--warmup",
            min=0,
            help="Warm-up requests per target, with a prompt outside the measured set "
            "(the first one loads the model).",
        ),
    ] = 1,
    max_tokens: Annotated[
        int, typer.Option("--max-tokens", min=1, help="Tokens to generate.")
    ] = 128,
    concurrency: Annotated[
        int,
        typer.Option(
            "--concurrency",
            min=1,
            help="Requests in flight per target (servers and cloud APIs; "
            "in-process engines take one at a time).",
        ),
    ] = 1,
    seed: Annotated[
        int,
        typer.Option(
            "--seed", help="Sampling seed where the backend takes one (temperature is always 0)."
        ),
    ] = 0,
    plot: Annotated[
        str | None,
        typer.Option(
            "--plot",
            metavar="FILE",
            help="Also draw TTFT and decode tok/s per target to FILE (.png, .svg or .pdf).",
        ),
    ] = None,
    check_engine: Annotated[
        bool,
        typer.Option(
            "--check-engine", help="Compare client-side decode tok/s with the engine's own figure."
        ),
    ] = False,
    json_out: opt.Json = False,
) -> None:
    """Benchmark backends: TTFT, decode tokens/s, load time, memory and cost.

    Targets run interleaved (A B A B) on the same prompts at temperature 0; in-process
    engines run in a child process so a crash is a recorded error. The summary table
    goes to stdout (or the full record with --json), progress to stderr.
    """
    from convergio_llm.cli.bench_impl import BenchOptions, bench_command

    options = BenchOptions(
        models=tuple(models or ()),
        providers=opt.split_names(providers),
        prompts_file=prompts,
        repetitions=repetitions,
        warmup=warmup,
        max_tokens=max_tokens,
        concurrency=concurrency,
        json_out=json_out,
        plot=plot,
        check_engine=check_engine,
        seed=seed,
    )
    finish(bench_command(ctx.obj, options))

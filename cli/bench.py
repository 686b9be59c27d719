"""`llm bench`: the same prompts on every backend, side by side."""

from __future__ import annotations

import click

from convergio_llm.cli import options as opt
from convergio_llm.cli.context import Environment
from convergio_llm.cli.errors import finish, guard


@click.command()
@click.option(
    "--model", "-m", "models", multiple=True, help="provider:model to measure (repeatable)."
)
@click.option(
    "--provider",
    "-p",
    "providers",
    multiple=True,
    help="Providers to measure with their default models (comma-separated or repeated).",
)
@click.option(
    "--prompts",
    metavar="FILE",
    help="Prompts file: one prompt per line, or JSON Lines "
    "(.jsonl, or first line '{'). Default: a built-in set of three lengths.",
)
@click.option(
    "--repetitions",
    "-n",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Repetitions of every prompt.",
)
@click.option(
    "--warmup",
    type=click.IntRange(min=0),
    default=1,
    show_default=True,
    help="Warm-up requests per target, with a prompt outside the measured set "
    "(the first one loads the model).",
)
@click.option(
    "--max-tokens",
    type=click.IntRange(min=1),
    default=128,
    show_default=True,
    help="Tokens to generate.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Requests in flight per target (servers and cloud APIs; "
    "in-process engines take one at a time).",
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Sampling seed where the backend takes one (temperature is always 0).",
)
@click.option(
    "--plot",
    metavar="FILE",
    help="Also draw TTFT and decode tok/s per target to FILE (.png, .svg or .pdf).",
)
@click.option(
    "--check-engine",
    is_flag=True,
    help="Compare client-side decode tok/s with the engine's own figure.",
)
@opt.json_option
@click.pass_obj
@guard
def bench(
    env: Environment,
    models: tuple[str, ...],
    providers: tuple[str, ...],
    prompts: str | None,
    repetitions: int,
    warmup: int,
    max_tokens: int,
    concurrency: int,
    seed: int,
    plot: str | None,
    check_engine: bool,
    json_out: bool,
) -> None:
    """Benchmark backends: TTFT, decode tokens/s, load time, memory and cost.

    Targets run interleaved (A B A B) on the same prompts at temperature 0; in-process
    engines run in a child process so a crash is a recorded error. The summary table
    goes to stdout (or the full record with --json), progress to stderr.
    """
    from convergio_llm.cli.bench_impl import BenchOptions, bench_command

    options = BenchOptions(
        models=models,
        providers=providers,
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
    finish(bench_command(env, options))

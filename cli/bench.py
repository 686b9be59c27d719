"""`llm bench`: the same prompts on every backend, side by side."""

from __future__ import annotations

import typer

from convergio_llm.cli.errors import guard


@guard
def bench(ctx: typer.Context) -> None:
    """Benchmark backends: TTFT, tokens/s, load time, memory and cost."""
    raise typer.Exit(0)

"""`llm cost`: spend from the ledger, budgets, and local-vs-cloud break-even."""

from __future__ import annotations

from typing import Annotated

import typer

from convergio_llm.cli import options as opt
from convergio_llm.cli.errors import guard


@guard
def cost(
    ctx: typer.Context,
    since: Annotated[
        str | None,
        typer.Option("--since", help="First day to include (YYYY-MM-DD).", show_default=False),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option("--until", help="Last day to include (YYYY-MM-DD).", show_default=False),
    ] = None,
    today: Annotated[bool, typer.Option("--today", help="Only today.")] = False,
    month: Annotated[
        bool, typer.Option("--month", help="This calendar month (the default).")
    ] = False,
    what_if: Annotated[
        bool,
        typer.Option(
            "--what-if",
            help="What the same traffic would have cost all-cloud at each tier, "
            "and the monthly saving from local routing.",
        ),
    ] = False,
    estimate: Annotated[
        int | None,
        typer.Option(
            "--estimate",
            min=1,
            help="Project a month of N requests at the observed mix.",
            show_default=False,
        ),
    ] = None,
    json_out: opt.Json = False,
) -> None:
    """Show spend by day, provider and model, and budget left.

    Reads the ledger that `llm run` writes; prices come from the ledger rows as
    they were recorded. Exit 2 for bad dates, 1 when the ledger cannot be read.
    """
    from convergio_llm.cli.cost_impl import CostOptions, cost_command

    options = CostOptions(
        since=since,
        until=until,
        today=today,
        month=month,
        what_if=what_if,
        estimate=estimate,
        json_out=json_out,
    )
    raise typer.Exit(cost_command(ctx.obj, options))

"""`llm cost`: spend from the ledger, budgets, and local-vs-cloud break-even."""

# No `from __future__ import annotations`: Typer reads each parameter's annotation, and
# string annotations would be compiled and evaluated twice per command it builds.

from typing import Annotated

import typer

from convergio_llm.cli import options as opt
from convergio_llm.cli.errors import finish, guard

app = typer.Typer(**opt.APP_SETTINGS)


@app.command()
@guard
def cost(
    ctx: typer.Context,
    since: opt.Since = None,
    until: opt.Until = None,
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
            metavar="N",
            help="Project a month of N requests at the observed mix.",
        ),
    ] = None,
    by_verdict: Annotated[
        bool,
        typer.Option(
            "--by-verdict",
            help="Audit: which requests left the machine, by routing verdict "
            "(takes --since/--until and --json).",
        ),
    ] = False,
    json_out: opt.Json = False,
) -> None:
    """Show spend by day, provider and model, and budget left.

    Reads the ledger that `llm run` writes; prices come from the ledger rows as
    they were recorded. Exit 2 for bad dates, 1 when the ledger cannot be read.
    """
    if by_verdict:
        from convergio_llm.cli.cost_audit import audit_command

        finish(audit_command(ctx.obj, since=since, until=until, json_out=json_out))
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
    finish(cost_command(ctx.obj, options))

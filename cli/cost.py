"""`llm cost`: spend from the ledger, budgets, and local-vs-cloud break-even."""

from __future__ import annotations

import click

from convergio_llm.cli import options as opt
from convergio_llm.cli.context import Environment
from convergio_llm.cli.errors import finish, guard


@click.command()
@click.option("--since", metavar="YYYY-MM-DD", help="First day to include.")
@click.option("--until", metavar="YYYY-MM-DD", help="Last day to include.")
@click.option("--today", is_flag=True, help="Only today.")
@click.option("--month", is_flag=True, help="This calendar month (the default).")
@click.option(
    "--what-if",
    is_flag=True,
    help="What the same traffic would have cost all-cloud at each tier, "
    "and the monthly saving from local routing.",
)
@click.option(
    "--estimate",
    type=click.IntRange(min=1),
    metavar="N",
    help="Project a month of N requests at the observed mix.",
)
@opt.json_option
@click.pass_obj
@guard
def cost(
    env: Environment,
    since: str | None,
    until: str | None,
    today: bool,
    month: bool,
    what_if: bool,
    estimate: int | None,
    json_out: bool,
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
    finish(cost_command(env, options))

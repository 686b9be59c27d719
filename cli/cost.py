"""`llm cost`: spend from the ledger, budgets, and local-vs-cloud break-even."""

from __future__ import annotations

import typer

from convergio_llm.cli.errors import guard


@guard
def cost(ctx: typer.Context) -> None:
    """Show spend by day, provider and model, and budget left."""
    raise typer.Exit(0)

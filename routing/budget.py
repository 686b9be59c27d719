"""Placeholder: budgets are being written (issue: cost tracking)."""

from __future__ import annotations

from typing import Any


def remaining_budget(config: Any, provider: str | None = None) -> float | None:
    """USD left in the tightest budget that applies (month/day, overall/provider); None if no budget."""
    return None

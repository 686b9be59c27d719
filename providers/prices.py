"""Placeholder: the price table is being written (issue: cost tracking)."""

from __future__ import annotations

from typing import Any


def estimate_cost(
    provider: str, model: str, input_tokens: int, output_tokens: int, config: Any = None
) -> float | None:
    """USD for this many tokens on provider:model; 0.0 for local engines; None when unknown."""
    return None

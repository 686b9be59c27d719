"""Everything outside the prompt that a decision depends on, gathered once per process.

Tests build a Context directly with the facts they want; nothing here probes the
network or imports an engine until a rule asks for that fact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from convergio_llm.providers.registry import Registry
from convergio_llm.routing.config import Config


@dataclass
class Context:
    config: Config
    registry: Registry
    # Facts a caller may pin (tests, `--platform`, `--offline`); None means "find out".
    facts: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def create(cls, config: Config) -> Context:
        return cls(config=config, registry=Registry(config.providers))

"""Placeholder: the google backend is being written."""

from __future__ import annotations

from collections.abc import Iterator

from convergio_llm.providers.base import Availability, Chunk, Completion, Provider, Request
from convergio_llm.providers.errors import ProviderUnavailable


class GoogleProvider(Provider):
    kind = "google"
    locality = "cloud"
    privacy = "provider-dependent"

    def available(self) -> Availability:
        return Availability(False, "not implemented yet")

    def stream(self, request: Request, model: str) -> Iterator[Chunk | Completion]:
        raise ProviderUnavailable("not implemented yet", self.name)

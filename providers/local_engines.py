"""What the in-process engines (mlx-lm, llama.cpp) share: cheap platform facts and prompt plumbing.

Nothing here imports an engine: `available()` must answer in microseconds, so it asks
`manifest.importable()` (find_spec) whether a package could be imported.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

from convergio_llm.providers.base import Message


def physical_cores() -> int:
    """Physical cores: the thread count llama.cpp runs fastest with (hyper-threads only contend)."""
    try:
        import psutil

        cores = psutil.cpu_count(logical=False)
    except ImportError:
        cores = None
    return cores or os.cpu_count() or 1


def as_dicts(messages: Iterable[Message]) -> list[dict[str, str]]:
    return [{"role": m.role, "content": m.content} for m in messages]


class StopScanner:
    """Cuts a text stream at the first stop string, never emitting any part of it.

    Text that could still be the start of a stop string is held back until the next
    piece proves it is not; `feed` returns what is safe to emit now.
    """

    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = [s for s in stops if s]
        self.pending = ""
        self.stopped = False

    def feed(self, piece: str) -> str:
        if not self.stops:
            return piece
        text = self.pending + piece
        hits = [text.find(s) for s in self.stops if s in text]
        if hits:
            self.stopped = True
            self.pending = ""
            return text[: min(hits)]
        keep = self._held_back(text)
        self.pending = text[len(text) - keep :] if keep else ""
        return text[: len(text) - keep]

    def flush(self) -> str:
        """The held-back text, once the stream has ended without a stop string."""
        text, self.pending = self.pending, ""
        return text

    def _held_back(self, text: str) -> int:
        """Length of the longest end of `text` that begins some stop string."""
        longest = 0
        for stop in self.stops:
            for size in range(min(len(stop) - 1, len(text)), longest, -1):
                if text.endswith(stop[:size]):
                    longest = size
                    break
        return longest

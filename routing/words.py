"""A text's whitespace-separated words, split once for the scanners that both need them.

`decide()` gives the complexity and privacy scanners the same prompt string; each would
split it again. The last split is kept, matched by identity so a different text never
gets it, and swapped as one tuple so threads never see one text with another's words.
"""

from __future__ import annotations

_last: tuple[str | None, list[str]] = (None, [])


def words(text: str) -> list[str]:
    """`text.split()`, shared: callers must not change the list."""
    global _last
    last = _last
    if last[0] is text:
        return last[1]
    split = text.split()
    _last = (text, split)
    return split

"""Output that fits the terminal: tables and `--explain` lines at the terminal's width
when the stream is a TTY, at full width when it is piped (a script gets whole lines).

Tables wrap inside their widest cells (tabulate's `maxcolwidths`); explain lines break
between facts ("; "-separated), one fact per line, indented under their column.
"""

from __future__ import annotations

import re
import shutil
import textwrap
from collections.abc import Sequence
from typing import IO, Any

MIN_COLUMN = 8  # narrower than this, a wrapped cell is harder to read than a long line
FLEX_COLUMN = 24  # the last column wraps first, down to this
_ANSI = re.compile(r"\033\[[0-9;]*m")


def terminal_width(stream: IO[str] | Any) -> int | None:
    """Columns to fit when `stream` is a terminal (COLUMNS wins); None when piped."""
    isatty = getattr(stream, "isatty", None)
    try:
        tty = bool(isatty and isatty())
    except (ValueError, OSError):
        tty = False
    if not tty:
        return None
    return shutil.get_terminal_size(fallback=(80, 24)).columns


def visible_len(text: str) -> int:
    return len(_ANSI.sub("", text))


def table(
    rows: Sequence[Sequence[Any]], headers: Sequence[str], width: int | None, **options: Any
) -> str:
    """tabulate's plain table, with the widest columns wrapped until it fits `width`."""
    from tabulate import tabulate

    options.setdefault("disable_numparse", True)
    limits = column_limits(rows, headers, width)
    if limits is not None:
        options["maxcolwidths"] = limits
    return str(tabulate(rows, headers=list(headers), **options))


def column_limits(
    rows: Sequence[Sequence[Any]], headers: Sequence[str], width: int | None
) -> list[int | None] | None:
    """Per-column maxima that bring the table within `width`, or None when it fits.

    The last column (free text: a reason, a note) gives way first, down to FLEX_COLUMN;
    then the widest column, one character at a time, down to MIN_COLUMN.
    """
    if width is None:
        return None
    count = max([len(headers), *(len(r) for r in rows)], default=0)
    # tabulate pads a header by two (its MIN_PADDING), so a column is never narrower.
    floors = [len(h) + 2 for h in headers] + [0] * (count - len(headers))
    widths = list(floors)
    for row in rows:
        for i, cell in enumerate(row):
            longest = max((len(line) for line in str(cell).splitlines()), default=0)
            widths[i] = max(widths[i], longest)
    excess = sum(widths) + 2 * (count - 1) - width  # the plain format's two-space gutters
    if excess <= 0:
        return None
    limits = list(widths)
    last = count - 1
    give = min(excess, max(0, limits[last] - max(FLEX_COLUMN, floors[last])))
    limits[last] -= give
    excess -= give
    while excess > 0:
        widest = max(range(count), key=lambda i: limits[i] - max(floors[i], MIN_COLUMN))
        if limits[widest] <= max(floors[widest], MIN_COLUMN):
            break  # as narrow as is readable: let the terminal wrap the rest
        limits[widest] -= 1
        excess -= 1
    return [
        limit if limit < natural else None for limit, natural in zip(limits, widths, strict=True)
    ]


def fit_line(line: str, width: int | None, indent: int) -> list[str]:
    """One line, or — when wider than `width` — its "; "-separated facts one per line,
    continuation lines indented by `indent`, each fact wrapped if still too long."""
    if width is None or visible_len(line) <= width:
        return [line]
    pad = " " * indent
    facts = line.split("; ")
    out: list[str] = []
    for n, fact in enumerate(facts):
        text = fact if n == 0 else pad + fact
        if visible_len(text) <= width:
            out.append(text)
            continue
        hidden = len(text) - visible_len(text)  # colour codes take no columns
        out += textwrap.wrap(
            text,
            width=max(width, indent + MIN_COLUMN) + hidden,
            subsequent_indent=pad,
            break_on_hyphens=False,
        )
    return out

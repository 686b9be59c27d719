"""Output fits the terminal: tables and --explain at the terminal's width on a TTY, whole
lines when piped."""

from __future__ import annotations

import io
import re

import pytest

from convergio_llm.cli.width import column_limits, fit_line, table, terminal_width
from tests.conftest import FakeTTY, llm

ANSI = re.compile(r"\033\[[0-9;]*m")
COMPLEX = (
    "Implement a thread-safe LRU cache in Java with O(1) get and put, explain your locking "
    "strategy, and write unit tests that must cover eviction and concurrent access."
)


def widest(text: str) -> int:
    return max(len(ANSI.sub("", line)) for line in text.splitlines())


def test_terminal_width_is_columns_on_a_tty_and_none_when_piped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "64")
    assert terminal_width(FakeTTY()) == 64
    assert terminal_width(io.StringIO()) is None


def test_a_table_that_fits_is_left_alone() -> None:
    assert column_limits([["a", "b"]], ["x", "y"], 80) is None
    assert column_limits([["a" * 200]], ["x"], None) is None


def test_a_wide_table_wraps_its_last_column_first() -> None:
    rows = [["ollama", "llama3.2:3b", "not probed (--offline); server would be at http://x:1"]]
    limits = column_limits(rows, ["provider", "model", "why not"], 50)
    assert limits == [None, None, 25]  # 10 + 11 + 25 and two gutters of 2: exactly 50
    text = table(rows, ["provider", "model", "why not"], 50)
    assert widest(text) <= 50
    assert "llama3.2:3b" in text  # the short columns keep their whole values


def test_a_long_line_breaks_between_facts_one_per_line() -> None:
    line = "  complexity  local          score 0.5 → medium; ~2 in / ~200 out tokens; would cost x"
    assert fit_line(line, None, 29) == [line]
    assert fit_line(line, 60, 29) == [
        "  complexity  local          score 0.5 → medium",
        " " * 29 + "~2 in / ~200 out tokens",
        " " * 29 + "would cost x",
    ]


def test_models_table_fits_80_columns_on_a_terminal_and_is_whole_when_piped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    piped = llm("models", "--offline")
    assert piped.code == 0, piped.stderr
    assert widest(piped.stdout) > 80  # the case this is about: a full-width table
    reason = "not probed (--offline)"
    assert any(reason in line for line in piped.stdout.splitlines())
    tty = FakeTTY()
    result = llm("models", "--offline", stdout=tty)
    assert result.code == 0, result.stderr
    assert widest(result.stdout) <= 80
    # Every row is still there: the same providers start lines in both.
    starts = {line.split()[0] for line in piped.stdout.splitlines()[2:] if line[:1] != " "}
    tty_starts = {line.split()[0] for line in result.stdout.splitlines()[2:] if line[:1] != " "}
    assert starts == tty_starts


def test_explain_fits_the_terminal_one_fact_per_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    piped = llm("route", "--explain", "--offline", stdin=COMPLEX)
    assert piped.code == 0, piped.stderr
    assert widest(piped.stderr) > 60
    [complexity] = [line for line in piped.stderr.splitlines() if "complexity" in line]
    assert "score" in complexity and "would cost" in complexity  # one line when piped
    result = llm("route", "--explain", "--offline", stdin=COMPLEX, stderr=FakeTTY())
    assert result.code == 0
    assert widest(result.stderr) <= 60
    lines = [ANSI.sub("", line) for line in result.stderr.splitlines()]
    wanted = ["privacy", "offline", "budget", "platform", "complexity", "quality", "cost"]
    starts = [line.split()[0] for line in lines if line.startswith("  ") and line[2] != " "]
    assert [word for word in starts if word in wanted] == wanted  # each rule starts its line
    assert len(lines) > len(piped.stderr.splitlines())  # and long ones went on over more
    assert result.stdout == piped.stdout  # the decision itself is never wrapped

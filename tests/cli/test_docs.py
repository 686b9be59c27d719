"""Completions and the man page are generated from the app and committed: they must be fresh."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from convergio_llm.cli import docs

ROOT = Path(__file__).resolve().parents[2]


def test_committed_completions_and_man_page_are_fresh() -> None:
    stale = [
        rel
        for rel, text in docs.generated().items()
        if not (ROOT / rel).exists() or (ROOT / rel).read_text(encoding="utf-8") != text
    ]
    assert not stale, f"regenerate with `make docs`: {stale}"


def test_man_page_documents_every_command_and_exit_code() -> None:
    page = (ROOT / "man" / "llm.1").read_text()
    for command in (
        "route",
        "route eval",
        "route calibrate",
        "run",
        "models",
        "cost",
        "bench",
        "logs",
    ):
        assert f".SS llm {command}" in page
    for code in ("0", "1", "2", "3", "4", "5", "6", "130"):
        assert f"\\fB{code}\\fR" in page


def test_bash_completion_answers_through_the_entry_point() -> None:
    env = dict(os.environ, COMP_WORDS="llm ro", COMP_CWORD="1", _LLM_COMPLETE="complete_bash")
    import shutil
    import sys

    llm = shutil.which("llm", path=str(Path(sys.executable).parent))
    assert llm is not None
    result = subprocess.run([llm], env=env, capture_output=True, check=False)
    # Typer's bash protocol: one candidate per line.
    assert result.stdout.decode().split() == ["route"]

"""Faults at the edges end in one line and a documented exit code, never `internal error`
(issue 14.18): a non-UTF-8 argument, stdout on a full device or closed."""

from __future__ import annotations

import os
import subprocess
import sys

from convergio_llm.routing.ledger import ledger_path
from tests.conftest import run_llm

COMMAND = [sys.executable, "-m", "convergio_llm.cli"]


def test_a_non_utf8_argument_is_exit_2_before_anything_runs() -> None:
    result = run_llm("run", "-m", "fake:echo", os.fsdecode(b"caf\xe9 au lait"))
    assert result.returncode == 2
    assert result.stdout == b""
    assert result.stderr == b"llm: error: argument 4 is not valid UTF-8 (byte 3)\n"
    assert not ledger_path().exists()  # nothing ran: no attempt recorded


def _run_to(stdout: object, *args: str, close_stdout: bool = False) -> tuple[int, bytes]:
    proc = subprocess.run(
        [*COMMAND, *args],
        input=b"",
        stdout=stdout,  # type: ignore[arg-type]
        stderr=subprocess.PIPE,
        preexec_fn=(lambda: os.close(1)) if close_stdout else None,
        check=False,
    )
    return proc.returncode, proc.stderr


def test_stdout_on_a_full_device_is_one_line_and_exit_1() -> None:
    for args in (
        ["run", "-m", "fake:echo", "hi"],
        ["route", "--online", "hi"],  # --online: no reachability probe (no DNS in tests)
        ["run", "-m", "fake:echo", "--json", "hi"],
    ):
        with open("/dev/full", "w") as full:
            status, err = _run_to(full, *args)
        assert status == 1
        assert err == b"llm: error: cannot write the output: No space left on device\n"


def test_a_closed_stdout_is_one_line_and_exit_1() -> None:
    for args in (["run", "-m", "fake:echo", "hi"], ["route", "--online", "hi"]):
        status, err = _run_to(None, *args, close_stdout=True)
        assert status == 1
        assert err == b"llm: error: cannot write the output: stdout is closed\n"

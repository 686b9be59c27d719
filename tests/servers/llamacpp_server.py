"""llama-cpp-python's real OpenAI-compatible server (`python -m llama_cpp.server`, from the
`server` extra) on a free loopback port, with the embedded Gemma GGUF.

A fixture, not a double: this is the engine a user would put behind a named
OpenAI-compatible instance (`providers: {gemma: {kind: openai, base_url: ...}}`).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

MODEL_ALIAS = "gemma"
START_TIMEOUT_S = 120.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"llama_cpp.server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/v1/models", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"llama_cpp.server did not answer at {url} in {START_TIMEOUT_S:g} s")


@pytest.fixture
def llamacpp_server(tmp_path: Path) -> Iterator[str]:
    """The server's root URL (add `/v1`); stopped when the test ends."""
    from convergio_llm.providers.embedded import embedded_model_path

    port = free_port()
    log = (tmp_path / "llama_server.log").open("wb")
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(embedded_model_path())]
    command += ["--model_alias", MODEL_ALIAS, "--host", "127.0.0.1", "--port", str(port)]
    command += [
        "--chat_format",
        "gemma",
        "--n_ctx",
        "1024",
        "--n_threads",
        "2",
        "--verbose",
        "False",
    ]
    # By default the server cuts a running stream short (an empty answer) whenever another
    # request arrives; a server meant for concurrent clients must queue them instead.
    command += ["--interrupt_requests", "False"]
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()

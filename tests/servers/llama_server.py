"""llama-cpp-python's own OpenAI-compatible server (`python -m llama_cpp.server`) on loopback,
serving the embedded Gemma 3 270M GGUF: a real third-party server, not a double.

Registered as a plugin by tests/conftest.py, so the fixtures are defined once for the whole
session (a fixture imported into a module is that module's own copy):

    llama_server       session-scoped: the base URL, with /v1, of a server with default settings
    llamacpp_server    per test: the root URL of a server set up for concurrent clients
                       (it queues requests instead of cutting a running stream short)

They stay two servers: on the concurrent one's chat format, the default one's greedy
8-token answers can come back empty.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

MODEL_ALIAS = "gemma-3-270m"
# Loading a 250 MB GGUF on a loaded 2-core VM: a bound on waiting, not a figure under test.
READY_TIMEOUT_S = 300


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running_server(folder: Path, gguf: Path, *options: str) -> Iterator[str]:
    """A server for `gguf` on a free loopback port with these extra options; yields its
    root URL."""
    port = _free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf)]
    command += ["--model_alias", MODEL_ALIAS, "--verbose", "False", *options]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    log_path = folder / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT
        )
        try:
            _wait_until_ready(process, port, log_path)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory, gemma_gguf: Path) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("llama-server")
    with running_server(folder, gemma_gguf, "--n_ctx", "512") as url:
        yield url + "/v1"


@pytest.fixture
def llamacpp_server(tmp_path: Path, gemma_gguf: Path) -> Iterator[str]:
    # By default the server cuts a running stream short (an empty answer) whenever another
    # request arrives; a server meant for concurrent clients must queue them instead.
    options = ["--chat_format", "gemma", "--n_ctx", "1024", "--n_threads", "2"]
    with running_server(tmp_path, gemma_gguf, *options, "--interrupt_requests", "False") as url:
        yield url


def _wait_until_ready(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            pytest.fail(f"llama_cpp.server exited with {process.returncode}:\n{tail}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/v1/models", timeout=1).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-2000:]
    pytest.fail(f"llama_cpp.server not ready after {READY_TIMEOUT_S} s:\n{tail}")

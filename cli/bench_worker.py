"""Where `llm bench` runs each target: in this process, or in a child it can lose.

An in-process engine (llama.cpp, mlx) runs in its own child process, speaking JSON
lines: one `hello`, then one sample request at a time, so the parent can still
interleave targets (A B A B). A segfault (ggml's AMX path on some VMs), an abort or
the OOM killer ends the child, not the benchmark: that sample becomes an error and
the next one starts a fresh child (whose load is then cold again).

Run as `python -m convergio_llm.cli.bench_worker`; its stdout carries only the
protocol, so anything an engine prints goes to stderr instead.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from typing import IO, Any

from convergio_llm.cli.bench_measure import Sample, measure, peak_rss_mb
from convergio_llm.providers.base import Provider, Request

MAX_RESTARTS = 2
SAMPLE_TIMEOUT_S = 900.0


class LocalRunner:
    """Runs samples in this process (servers and cloud APIs: the work happens elsewhere)."""

    isolated = False

    def __init__(
        self, provider: Provider, model: str, clock: Callable[[], float] | None = None
    ) -> None:
        self.provider = provider
        self.model = model
        # The provider's clock by default: what its stopwatch reads and a scripted backend
        # sleeps on (the system clock, unless a test set a fake one for exact figures).
        self.clock = clock or provider.clock.now

    def sample(self, request: Request, sample: Sample) -> Sample:
        return measure(self.provider, request, self.model, sample, self.clock)

    def close(self) -> None:
        """The registry closes the provider."""


class ChildRunner:
    """Runs samples in a child process that stays alive between them."""

    isolated = True

    def __init__(self, provider: str, model: str, config_path: str | None) -> None:
        self.hello = {"provider": provider, "model": model, "config": config_path}
        self.starts = 0
        self._proc: subprocess.Popen[str] | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._log: IO[str] | None = None

    def _start(self) -> None:
        # Closed in _stop(): it outlives this method, holding the child's stderr.
        self._log = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")  # noqa: SIM115
        self._lines = queue.Queue()
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "convergio_llm.cli.bench_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            bufsize=1,
        )
        self.starts += 1
        threading.Thread(target=_pump, args=(self._proc.stdout, self._lines), daemon=True).start()
        reply = self._exchange(self.hello, timeout=120.0)
        if "error" in reply:
            self._stop()
            raise ChildFailed(str(reply["error"]))

    def sample(self, request: Request, sample: Sample) -> Sample:
        try:
            if self._proc is None:
                if self.starts > MAX_RESTARTS:
                    raise ChildFailed(f"gave up after the engine process died {self.starts} times")
                self._start()
            reply = self._exchange(
                {"request": request.to_json(), "sample": sample.to_json()}, SAMPLE_TIMEOUT_S
            )
        except ChildFailed as exc:
            sample.error, sample.error_type = str(exc), "EngineProcessDied"
            return sample
        return Sample.from_json(reply["sample"])

    def _exchange(self, message: dict[str, Any], timeout: float) -> dict[str, Any]:
        proc = self._proc
        assert proc is not None and proc.stdin is not None
        try:
            proc.stdin.write(json.dumps(message) + "\n")
            proc.stdin.flush()
            line = self._lines.get(timeout=timeout)
        except (BrokenPipeError, OSError):
            line = None
        except queue.Empty:
            proc.kill()
            self._stop()
            raise ChildFailed(f"no answer from the engine process in {timeout:.0f} s") from None
        if line is None:
            raise ChildFailed(self._death_notice())
        reply: dict[str, Any] = json.loads(line)
        return reply

    def _death_notice(self) -> str:
        proc = self._proc
        assert proc is not None
        code = proc.wait()
        tail = self._stderr_tail()
        self._stop()
        if code < 0:
            name = signal.Signals(-code).name
            why = " (out of memory?)" if name == "SIGKILL" else ""
            what = f"engine process killed by {name}{why}"
        else:
            what = f"engine process exited with status {code}"
        return f"{what}: {tail}" if tail else what

    def _stderr_tail(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        lines = [line.strip() for line in self._log.read().splitlines() if line.strip()]
        return lines[-1][:200] if lines else ""

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                try:
                    assert proc.stdin is not None
                    proc.stdin.write('{"quit": true}\n')
                    proc.stdin.close()
                    proc.wait(timeout=10)
                except (OSError, subprocess.TimeoutExpired):
                    proc.kill()
                    proc.wait()
            else:
                proc.wait()
            if proc.stdin is not None:  # a child that died left its stdin pipe open here
                with contextlib.suppress(OSError):
                    proc.stdin.close()
        if self._log is not None:
            self._log.close()
            self._log = None

    def close(self) -> None:
        self._stop()


class ChildFailed(Exception):
    pass


def _pump(stream: IO[str] | None, lines: queue.Queue[str | None]) -> None:
    assert stream is not None
    with stream:  # the reader closes the pipe at EOF: a long-lived `llm` leaks no descriptor
        for line in stream:
            lines.put(line)
    lines.put(None)


def main() -> int:
    """The child: answer one sample request per line until stdin closes."""
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # an engine's prints must not corrupt it
    sys.stdout = sys.stderr

    def send(obj: dict[str, Any]) -> None:
        protocol.write(json.dumps(obj) + "\n")

    hello = json.loads(sys.stdin.readline() or "{}")
    try:
        from convergio_llm.providers.registry import Registry
        from convergio_llm.routing.config import load_config

        registry = Registry(load_config(hello.get("config")).providers)
        provider = registry.get(hello["provider"])
    except Exception as exc:
        send({"error": f"{type(exc).__name__}: {exc}"})
        return 1
    send({"ready": True, "pid": os.getpid()})
    from convergio_llm.routing.decision import request_from_json

    for line in sys.stdin:
        message = json.loads(line)
        if message.get("quit"):
            break
        sample = Sample.from_json(message["sample"])
        request = request_from_json(message["request"])
        measure(provider, request, hello["model"], sample, provider.clock.now)
        sample.peak_rss_mb = peak_rss_mb()
        send({"sample": sample.to_json()})
    registry.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

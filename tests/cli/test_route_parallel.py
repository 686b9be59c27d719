"""`llm route --jsonl` in worker processes: the same lines, in the same order, as one process."""

from __future__ import annotations

import contextlib
import io
import json
import os
import queue
import signal
import subprocess
import sys
import threading
from typing import Any

import pytest

from convergio_llm.cli import route_parallel
from convergio_llm.cli.context import Environment
from convergio_llm.cli.route_impl import route_command
from convergio_llm.providers.errors import InputError
from convergio_llm.routing.decide import Policy
from tests.benchmarks.bench_route import CLOUD_UP, prompts

FIRST = route_parallel.IN_PROCESS_FIRST


def varied_input(n: int) -> bytes:
    """n + 1 lines, most past the in-process start, with every kind of line a batch holds:
    bad JSON, bytes that are not UTF-8, a blank line, a decision, messages, an empty
    prompt, and a last line without its newline."""
    lines = [json.dumps({"prompt": p}) for p in prompts(n)]
    lines[FIRST + 10] = "{not json"
    lines[FIRST + 15] = "NOT-UTF-8"
    lines[FIRST + 20] = ""
    lines[FIRST + 30] = json.dumps({"schema": "convergio-llm/decision/v1"})
    lines[FIRST + 40] = json.dumps({"messages": [{"role": "user", "content": "hi"}], "id": "m"})
    lines[n - 5] = json.dumps({"prompt": "   "})
    data = "\n".join(lines).encode().replace(b"NOT-UTF-8", b'{"prompt": "\xff"}')
    return data + b'\n{"prompt": "the end"}'


def route(data: bytes, workers: str) -> tuple[int, str, str]:
    env = Environment(
        stdin=io.BytesIO(data),
        stdout=io.StringIO(),
        stderr=io.StringIO(),
        environ=dict(os.environ, CONVERGIO_LLM_WORKERS=workers),
    )
    # The cloud pinned up (the canary keys make it available), so that medium and complex
    # prompts go to the cloud and every kind of decision is written; nothing is probed.
    env.routing.facts.update(available=dict(CLOUD_UP), reachable=dict(CLOUD_UP))
    env.routing.facts["ollama_answers"] = False
    status = route_command(env, None, {}, Policy(), jsonl=True, explain=False)
    return status, env.stdout.getvalue(), env.stderr.getvalue()  # type: ignore[attr-defined]


def test_workers_write_what_one_process_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[int] = []
    start_pool = route_parallel._start_pool

    def recording(env: Environment, workers: int) -> Any:
        started.append(workers)
        return start_pool(env, workers)

    monkeypatch.setattr(route_parallel, "_start_pool", recording)
    data = varied_input(FIRST + 3 * route_parallel.BATCH)
    alone = route(data, "1")
    assert started == []
    assert route(data, "2") == alone and route(data, "3") == alone
    assert started == [2, 3]  # the pool did decide the lines past the first thousand

    status, out, err = alone
    rows = [json.loads(line) for line in out.splitlines()]
    n = FIRST + 3 * route_parallel.BATCH
    assert len(rows) == n  # n + 1 lines, one of them blank
    assert [r["id"] for r in rows[FIRST + 9 : FIRST + 12]] == [str(FIRST + k) for k in (10, 11, 12)]
    bad = {r["line"]: r["error"]["message"] for r in rows if "error" in r}
    assert sorted(bad) == [FIRST + 11, FIRST + 16, FIRST + 31, n - 4]
    assert "invalid JSON" in bad[FIRST + 11] and "not valid UTF-8" in bad[FIRST + 16]
    assert "decision field 'request' is missing" in bad[FIRST + 31]
    assert "empty" in bad[n - 4]
    assert next(r for r in rows if r.get("id") == "m")["schema"] == "convergio-llm/decision/v1"
    assert rows[-1]["request"]["messages"][0]["content"] == "the end"
    assert status == 2 and err.count("llm: error: line ") == 4


def test_a_small_input_never_starts_a_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(env: Environment, workers: int) -> Any:
        raise AssertionError("a pool for a small input")

    monkeypatch.setattr(route_parallel, "_start_pool", refuse)
    status, out, _ = route(b'{"prompt": "hi"}\n' * FIRST, "2")
    assert status == 0 and len(out.splitlines()) == FIRST


@pytest.mark.parametrize("value", ["0", "two", "-1"])
def test_a_bad_worker_count_is_a_usage_error(value: str) -> None:
    with pytest.raises(InputError, match="CONVERGIO_LLM_WORKERS"):
        route(b'{"prompt": "hi"}\n', value)


def test_empty_input_is_the_same_usage_error_with_workers() -> None:
    with pytest.raises(InputError, match="no JSON lines"):
        route(b"\n\n", "2")


def test_a_slow_producer_gets_each_decision_before_it_sends_the_next() -> None:
    # Past the first thousand lines (so the pool is running), then one line at a time:
    # nothing may wait for a batch to fill or for input that is not there yet.
    proc = subprocess.Popen(
        [sys.executable, "-m", "convergio_llm.cli", "route", "--jsonl"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(os.environ, CONVERGIO_LLM_WORKERS="2", CONVERGIO_LLM_OFFLINE="1"),
        start_new_session=True,  # its workers too can be stopped, if it fails
    )
    assert proc.stdin is not None and proc.stdout is not None
    out: queue.Queue[bytes] = queue.Queue()
    reader = threading.Thread(target=lambda: [out.put(line) for line in proc.stdout])  # type: ignore[union-attr]
    reader.start()

    def next_id() -> str:
        return str(json.loads(out.get(timeout=60))["id"])

    try:
        bulk = FIRST + 2 * route_parallel.BATCH + 7
        proc.stdin.write(b"".join(b'{"prompt": "p %d"}\n' % i for i in range(bulk)))
        proc.stdin.flush()
        assert [next_id() for _ in range(bulk)] == [str(i) for i in range(1, bulk + 1)]
        for i in range(3):
            proc.stdin.write(b'{"prompt": "one more", "id": "slow-%d"}\n' % i)
            proc.stdin.flush()
            assert next_id() == f"slow-{i}"
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # the workers hold its stdout open too
        proc.wait()
        reader.join(timeout=60)  # at the end of the output, once every process is gone
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            stream.close()  # type: ignore[union-attr]


def test_a_reader_that_stops_early_ends_the_run_quietly(tmp_path: Any) -> None:
    # `llm route --jsonl < big | head -1`, with the pool running when the pipe closes.
    big = tmp_path / "big.jsonl"
    big.write_bytes(b"".join(b'{"prompt": "p %d"}\n' % i for i in range(FIRST * 6)))
    with big.open("rb") as stdin:
        proc = subprocess.Popen(
            [sys.executable, "-m", "convergio_llm.cli", "route", "--jsonl"],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(os.environ, CONVERGIO_LLM_WORKERS="2", CONVERGIO_LLM_OFFLINE="1"),
        )
        assert proc.stdout is not None and proc.stderr is not None
        for _ in range(FIRST + 10):
            proc.stdout.readline()
        proc.stdout.close()
        assert proc.wait(timeout=60) == 0
        assert proc.stderr.read() == b""
        proc.stderr.close()

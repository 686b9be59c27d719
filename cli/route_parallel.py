"""`llm route --jsonl` over many lines: decided in worker processes, written in order.

Deciding is Python on one core (~100-150 µs a line on a 2-core VM, so one process makes
7,000-9,000 decisions a second), and every line is independent of the others. So once
the first IN_PROCESS_FIRST lines are decided here, further lines go in batches to a pool
of forked workers (one per usable CPU on Linux, at most MAX_WORKERS) and come back in
input order: stdout and stderr get the same lines, in the same order, as one process
writes (tests compare the two). Workers are forked after the first decisions, so they share this
process's plan (config, probes, budget) and never probe again for it.

Input that arrives slowly (`tail -f`, one prompt at a time) never waits for a batch to
fill: a batch ends when the input has nothing more ready, and everything decided is
written before this process waits for more input. A small input never starts a pool.
`CONVERGIO_LLM_WORKERS=1` keeps everything in one process.
"""

from __future__ import annotations

import os
import sys
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from typing import IO, Any

from convergio_llm.cli.context import Environment
from convergio_llm.cli.io import NO_JSON_LINES, NO_PROMPT, item_of_line, set_defaults
from convergio_llm.cli.route_impl import NO_INPUTS, route_item
from convergio_llm.providers.errors import InputError
from convergio_llm.routing.decide import Policy

IN_PROCESS_FIRST = 1000  # lines decided here first: a small input never starts a pool
BATCH = 256  # lines a worker decides at a time
MAX_WORKERS = 8
CHUNK = 1 << 16  # bytes read from stdin at a time

# What a worker decides with: this process's environment, policy and defaults, set before
# the fork so that every worker inherits them (nothing is pickled but lines and results).
_STATE: tuple[Environment, Policy, Mapping[str, Any]] | None = None

Batch = list[tuple[int, bytes]]  # (line number, raw line)
Results = list[tuple[str | None, str | None, int]]  # (stdout line, warning, exit status)


def workers_for(env: Environment) -> int:
    """How many processes decide: CONVERGIO_LLM_WORKERS, else one per usable CPU on Linux.

    Elsewhere one, unless asked: macOS forks badly once system frameworks are loaded (a
    proxy lookup is enough), and Windows cannot fork at all."""
    if not hasattr(os, "fork"):
        return 1
    raw = env.environ.get("CONVERGIO_LLM_WORKERS", "").strip()
    if raw:
        if not raw.isdigit() or int(raw) < 1:
            raise InputError(f"CONVERGIO_LLM_WORKERS must be a whole number >= 1 (got {raw!r})")
        return int(raw)
    if not sys.platform.startswith("linux"):
        return 1
    return max(1, min(len(os.sched_getaffinity(0)), MAX_WORKERS))


def route_lines(env: Environment, defaults: Mapping[str, Any], policy: Policy, workers: int) -> int:
    """`llm route --jsonl` on stdin with up to `workers` processes; the exit status."""
    global _STATE
    if env.stdin_isatty:
        raise InputError(NO_PROMPT)
    _STATE = (env, policy, set_defaults(defaults))
    ready = _readiness(env.stdin)
    status = seen = 0
    pool: Any = None
    pending: deque[Any] = deque()  # results of submitted batches, in input order
    try:
        for batch in _batches(env.stdin, ready):
            seen += len(batch)
            if pool is None and seen <= IN_PROCESS_FIRST:
                status = _write(env, _route_batch(batch), status)
                continue
            if pool is None:
                pool = _start_pool(env, workers)
            pending.append(pool.submit(_route_batch, batch))
            # Keep every worker busy with a bounded backlog; write all that is decided
            # before waiting on input that is not there yet.
            while pending and (len(pending) > 2 * workers or not ready()):
                status = _write(env, pending.popleft().result(), status)
        while pending:
            status = _write(env, pending.popleft().result(), status)
    finally:
        _STATE = None
        if pool is not None:
            # Every result is in, or the run is failing (a closed stdout, Ctrl-C): drop
            # what is queued; a worker still busy finishes its one batch and exits.
            pool.shutdown(wait=not pending, cancel_futures=True)
    if not seen:
        raise InputError(NO_JSON_LINES)
    return status


def _route_batch(batch: Batch) -> Results:
    assert _STATE is not None
    env, policy, defaults = _STATE
    results: Results = []
    for number, raw in batch:
        item = item_of_line(raw, number, defaults)
        _, line, warning, code = route_item(env, item, policy, True, NO_INPUTS)
        results.append((line, warning, code))
    return results


def _write(env: Environment, results: Results, status: int) -> int:
    for line, warning, code in results:
        if line is not None:
            env.stdout.write(line)  # the Environment scrubs secrets
        if warning is not None:
            env.stderr.write(f"llm: {warning}\n")  # env.warn, flushed once a batch
        status = status or code
    env.stdout.flush()
    env.stderr.flush()
    return status


def _start_pool(env: Environment, workers: int) -> Any:
    # concurrent.futures, not multiprocessing.Pool: a worker that dies (killed, out of
    # memory) fails the run with BrokenProcessPool instead of leaving it waiting forever.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    env.stdout.flush()  # a forked worker must not inherit, and later write, unflushed text
    env.stderr.flush()
    return ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_worker_start,
        initargs=(os.getpid(),),
    )


def _worker_start(parent: int) -> None:
    import signal
    import threading

    # Ctrl-C reaches the whole process group: the parent stops the pool and says so once,
    # instead of every worker printing a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A parent killed outright (SIGKILL, out of memory) cannot stop its workers, and each
    # worker holds the task queue open for the others: leave once the parent is gone.
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()


def _exit_with(parent: int) -> None:
    import time

    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _readiness(stream: IO[bytes]) -> Callable[[], bool]:
    """Whether more input can be read without waiting (always, for a file or in memory)."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return lambda: True
    import select

    def ready() -> bool:
        try:
            return bool(select.select([fd], [], [], 0)[0])
        except (OSError, ValueError):
            return True

    return ready


def _batches(stream: IO[bytes], ready: Callable[[], bool]) -> Iterator[Batch]:
    """Non-blank lines with their 1-based numbers, BATCH at a time, a batch ending early
    when the input has nothing more ready. Reads with read1 so that the stream holds no
    buffered bytes between reads, and `ready` (select on the descriptor) tells the truth."""
    read = getattr(stream, "read1", stream.read)
    number = 0
    batch: Batch = []
    partial: list[bytes] = []  # a line not yet ended, in pieces (one line may be megabytes)
    while chunk := read(CHUNK):
        if b"\n" not in chunk:
            partial.append(chunk)
            continue
        if partial:
            chunk = b"".join(partial) + chunk
            partial = []
        lines = chunk.split(b"\n")
        tail = lines.pop()
        if tail:
            partial.append(tail)
        for raw in lines:
            number += 1
            if raw.strip():
                batch.append((number, raw))
                if len(batch) >= BATCH:
                    yield batch
                    batch = []
        if batch and not ready():
            yield batch
            batch = []
    if partial:
        raw = b"".join(partial)
        if raw.strip():
            batch.append((number + 1, raw))
    if batch:
        yield batch

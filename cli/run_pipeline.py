"""`llm run --jsonl --concurrency N`: N calls in flight, answers written in input order.

The main thread reads stdin lazily and makes each decision (routing is not shared between
threads); N worker threads execute them. A worker that finishes the lowest unwritten line
writes it and every finished line after it, so output leaves as soon as its prefix is
complete. A window of `WINDOW_PER_WORKER · N` lines (in flight plus finished but waiting
for an earlier one) bounds memory: reading stops while the window is full, so a 1 GB
input streams through. Each line is run by the same `run_item()` as a serial run, into
buffers, so its answer, error object and stderr lines are exactly a serial run's.

In-process engines (llama.cpp, mlx, fake) never run two generations at once: their
attempts share one lock (routing/shared_hooks.py), which is said once on stderr.
"""

from __future__ import annotations

import io
import queue
import threading
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from convergio_llm.cli.context import Environment
from convergio_llm.cli.exit_status import ExitStatus
from convergio_llm.cli.io import Item
from convergio_llm.providers.errors import LLMError
from convergio_llm.routing.decision import Decision
from convergio_llm.routing.shared_hooks import SharedHooks

# Lines finished ahead of a slow one that may wait, per worker, before reading pauses.
WINDOW_PER_WORKER = 4


class _Done(NamedTuple):
    status: ExitStatus
    out: str
    err: str


class _Job(NamedTuple):
    seq: int
    item: Item
    decision: Decision


# Runs one item with an Environment of its own (buffers), `run_impl.run_item`'s way.
Answer = Callable[[Environment, Item, Decision | None], ExitStatus]


class Pipeline:
    def __init__(
        self,
        env: Environment,
        workers: int,
        hooks: SharedHooks,
        decide: Callable[[Item], Decision],
        answer: Answer,
    ) -> None:
        self.env = env
        self.hooks = hooks
        self.decide = decide
        self.answer = answer
        self.workers = workers
        self.window = threading.Semaphore(WINDOW_PER_WORKER * self.workers)
        self.jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self.finished: dict[int, _Done] = {}
        self.next_seq = 0
        self.lock = threading.Lock()
        self.status = ExitStatus.OK
        self.stopping = False
        self.announced: set[str] = set()
        self.progress = _Progress.start(env)

    def run(self, items: Iterable[Item]) -> int:
        threads = [
            threading.Thread(target=self._work, name=f"llm-run-{i}", daemon=True)
            for i in range(self.workers)
        ]
        for thread in threads:
            thread.start()
        try:
            for seq, read in enumerate(items):
                self.window.acquire()
                item, decision = self._decide(read)
                if decision is None:
                    self._finish(seq, self._answer(item, None))
                else:
                    self.jobs.put(_Job(seq, item, decision))
        except BaseException:
            self.stopping = True  # Ctrl-C or no input: drop what has not started
            raise
        finally:
            for _ in threads:
                self.jobs.put(None)
            if not self.stopping:
                for thread in threads:
                    thread.join()
            if self.progress is not None:
                self.progress.stop()
        return int(self.status)

    # -- main thread ------------------------------------------------------------------------

    def _decide(self, item: Item) -> tuple[Item, Decision | None]:
        if item.error is not None:
            return item, None
        try:
            decision = self.decide(item)
        except LLMError as exc:
            return item._replace(error=exc), None
        self._prepare(decision)
        return item, decision

    def _prepare(self, decision: Decision) -> None:
        """Create each target's provider here, once, so no two workers race to build it,
        and say once which of them run in-process (one generation at a time)."""
        context = self.env.routing
        for target in decision.targets:
            name = target.provider
            try:
                context.registry.get(name)
                in_process = context.locality(name) == "in-process"
            except LLMError:
                continue  # the attempt reports it, as a serial run would
            if in_process and name not in self.announced:
                self.announced.add(name)
                self.env.warn(
                    f"{name} runs in-process: its requests run one at a time "
                    "(--concurrency applies to servers and cloud APIs)"
                )

    # -- workers ----------------------------------------------------------------------------

    def _work(self) -> None:
        try:
            while (job := self.jobs.get()) is not None:
                if self.stopping:
                    continue
                try:
                    done = self._answer(job.item, job.decision)
                except Exception as exc:  # a bug must not leave a hole that stalls the output
                    message = f"internal error: {type(exc).__name__}: {exc}"
                    done = self._answer(job.item._replace(error=LLMError(message)), None)
                self._finish(job.seq, done)
        finally:
            self.hooks.end_thread()

    def _answer(self, item: Item, decision: Decision | None) -> _Done:
        out, err = io.StringIO(), io.StringIO()
        env = self.env.with_streams(out, err)
        status = self.answer(env, item, decision)
        env.flush_streams()
        return _Done(status, out.getvalue(), err.getvalue())

    def _finish(self, seq: int, done: _Done) -> None:
        with self.lock:
            self.finished[seq] = done
            while (ready := self.finished.pop(self.next_seq, None)) is not None:
                self.next_seq += 1
                self._write(ready)
                if self.status == ExitStatus.OK:
                    self.status = ready.status
                self.window.release()

    def _write(self, done: _Done) -> None:
        if done.err:
            if self.progress is not None:
                self.progress.say(done.err)
            else:
                self.env.stderr.write(done.err)
                self.env.stderr.flush()
        if done.out:
            self.env.stdout.write(done.out)
            self.env.stdout.flush()
        if self.progress is not None:
            self.progress.advance(failed=done.status != ExitStatus.OK)


class _Progress:
    """A rich progress line on stderr, only when stderr is a terminal and rich is installed
    (it comes with the `bench` extra): lines answered, failures, elapsed time."""

    def __init__(self, progress: Any, task: Any) -> None:
        self._progress = progress
        self._task = task
        self._failed = 0

    @classmethod
    def start(cls, env: Environment) -> _Progress | None:
        if not env.stderr_isatty:
            return None
        try:
            from rich.console import Console
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
        except ImportError:
            return None
        progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.completed} lines answered, {task.fields[failed]} failed"),
            TimeElapsedColumn(),
            console=Console(file=env.stderr),
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        task = progress.add_task("run", total=None, failed=0)
        progress.start()
        return cls(progress, task)

    def advance(self, failed: bool) -> None:
        self._failed += failed
        self._progress.update(self._task, advance=1, failed=self._failed)

    def say(self, text: str) -> None:
        self._progress.console.print(text, end="", markup=False, highlight=False)

    def stop(self) -> None:
        self._progress.stop()

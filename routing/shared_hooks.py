"""The hooks of one `llm run`, safe to share between the threads of `--concurrency N`.

Around the ledger/budget/cache hooks (routing/accounting.py) this adds what a run needs
whatever its concurrency:

* each thread gets its own Accounting, so its own SQLite connections (a connection may
  only be used by the thread that opened it); budget reservations stay exact because
  each is one BEGIN IMMEDIATE transaction, atomic across connections and processes;
* the per-provider limits of routing/limits.py;
* cooldowns (routing/cooldown.py): a cooling target is refused before any call, and an
  error that calls for a cooldown marks its provider on disk;
* one lock for in-process engines, so llama.cpp or mlx never run two generations at
  once, whichever thread (a fallback included) reaches them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from convergio_llm.providers.base import Completion, Request
from convergio_llm.providers.errors import LLMError
from convergio_llm.providers.values import estimate_tokens
from convergio_llm.routing.accounting import Accounting
from convergio_llm.routing.budget import output_estimate
from convergio_llm.routing.cooldown import Book
from convergio_llm.routing.decision import Decision, Target
from convergio_llm.routing.limits import Limits, Ticket


class _Held(threading.local):
    """What the current thread's attempt holds, given back when the attempt ends."""

    def __init__(self) -> None:
        self.accounting: Accounting | None = None
        self.ticket: Ticket | None = None
        self.engine_lock = False
        self.skipped = False


class SharedHooks:
    def __init__(
        self,
        make_accounting: Callable[[], Accounting],
        config: Any,
        limits: Limits,
        cooldowns: Book | None,
        in_process: Callable[[str], bool],
    ) -> None:
        self._make = make_accounting
        self._config = config
        self._limits = limits
        self._cooldowns = cooldowns
        self._in_process = in_process
        self._engine = threading.Lock()
        self._held = _Held()

    def accounting(self) -> Accounting:
        """This thread's Accounting, opened on first use."""
        held = self._held
        if held.accounting is None:
            held.accounting = self._make()
        return held.accounting

    def note_decision(self, decision: Decision) -> None:
        """How the request this thread runs next was routed (the ledger's routing columns)."""
        self.accounting().note_decision(decision)

    def cached(self, target: Target, request: Request) -> Completion | None:
        return self.accounting().cached(target, request)

    def before_attempt(self, target: Target, request: Request) -> Request | None:
        """Cooldown, engine lock, rate limits, then this thread's budget reservation, whose
        answer (the request with max_tokens capped to what the budget pays) is passed on."""
        held = self._held
        held.skipped = False
        if self._cooldowns is not None:
            entry = self._cooldowns.active(target.provider)
            if entry is not None:
                held.skipped = True
                raise self._cooldowns.refusal(entry)
        if self._in_process(target.provider):
            self._engine.acquire()
            held.engine_lock = True
        try:
            if self._limits:
                tokens = estimate_tokens(request.prompt_text)
                tokens += output_estimate(request, self._config)
                held.ticket = self._limits.acquire(target.provider, tokens)
            return self.accounting().before_attempt(target, request)
        except BaseException:
            self._give_back()
            raise

    def after_attempt(
        self,
        target: Target,
        request: Request,
        completion: Completion | None,
        error: LLMError | None,
        elapsed_s: float,
        cache_hit: bool,
    ) -> float | None:
        held = self._held
        if completion is not None and held.ticket is not None:
            usage = completion.usage
            self._limits.settle(held.ticket, usage.input_tokens + usage.output_tokens)
        self._give_back()
        if held.skipped:
            held.skipped = False
            return None  # never called: nothing to record
        cost = self.accounting().after_attempt(
            target, request, completion, error, elapsed_s, cache_hit
        )
        if error is not None and self._cooldowns is not None:
            self._cooldowns.note(target.provider, error)
        return cost

    def _give_back(self) -> None:
        held = self._held
        if held.ticket is not None:
            self._limits.release(held.ticket)
            held.ticket = None
        if held.engine_lock:
            held.engine_lock = False
            self._engine.release()

    def end_thread(self) -> None:
        """Release whatever an attempt that never ended left held, and close this thread's
        connections (SQLite refuses to close them from any other thread)."""
        self._give_back()
        accounting = self._held.accounting
        if accounting is None:
            return
        self._held.accounting = None
        if accounting.ledger is not None:
            accounting.ledger.close()
        if accounting.cache is not None:
            accounting.cache.close()

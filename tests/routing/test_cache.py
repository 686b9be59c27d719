"""The response cache: what is cached, for how long, and how a hit is recorded."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from convergio_llm.providers.base import Request
from convergio_llm.providers.registry import Registry
from convergio_llm.routing.accounting import make_hooks
from convergio_llm.routing.cache import ResponseCache, cache_key, cache_path
from convergio_llm.routing.config import parse_config
from convergio_llm.routing.context import Context
from convergio_llm.routing.decision import Decision
from convergio_llm.routing.execute import execute
from convergio_llm.routing.ledger import open_ledger
from tests.conftest import run_in_process

PRICED = 'prices:\n  "fake:echo": {input_per_mtok: 1000, output_per_mtok: 1000}\n'


def context(extra: str = "") -> Context:
    config = parse_config(PRICED + extra)
    return Context(config, Registry(config.providers))


def run(ctx: Context, request: Request, **hook_options: bool) -> tuple[bool, float | None]:
    hooks = make_hooks(ctx, **hook_options)
    outcome = execute(Decision(request, "fake", "echo"), ctx.registry, hooks=hooks)
    return outcome.cache_hit, outcome.cost_usd


def test_a_deterministic_request_is_answered_from_the_cache_for_free() -> None:
    ctx = context()
    request = Request.from_prompt("one two three", temperature=0)
    assert run(ctx, request) == (False, 0.006)
    assert run(ctx, request) == (True, 0.0)
    ledger = open_ledger(create=False)
    assert ledger is not None
    recorded = ledger.query("SELECT cache_hit, cost_nusd, input_tokens FROM attempts ORDER BY id")
    ledger.close()
    assert recorded == [(0, 6_000_000, 3), (1, 0, 3)]


def test_a_fixed_seed_is_deterministic_too() -> None:
    ctx = context()
    request = Request.from_prompt("one two three", seed=7)
    run(ctx, request)
    assert run(ctx, request)[0] is True


def test_sampled_requests_are_not_cached_unless_configured() -> None:
    request = Request.from_prompt("one two three", temperature=0.7)
    ctx = context()
    run(ctx, request)
    assert run(ctx, request)[0] is False
    ctx = context("cache: {deterministic_only: false}\n")
    run(ctx, request)
    assert run(ctx, request)[0] is True


def test_no_cache_and_disabled_cache_neither_read_nor_write() -> None:
    request = Request.from_prompt("one two three", temperature=0)
    ctx = context()
    run(ctx, request, use_cache=False)
    assert run(ctx, request)[0] is False  # nothing was written by the first
    assert run(ctx, request, use_cache=False)[0] is False
    assert run(context("cache: {enabled: false}\n"), request)[0] is False


def test_the_key_covers_provider_model_messages_and_parameters() -> None:
    base = Request.from_prompt("hi", temperature=0)
    keys = {
        cache_key("fake", "echo", base),
        cache_key("fake", "lorem", base),
        cache_key("other", "echo", base),
        cache_key("fake", "echo", base.with_params(max_tokens=3)),
        cache_key("fake", "echo", Request.from_prompt("hi", system="be brief", temperature=0)),
    }
    assert len(keys) == 5
    # Metadata such as a request id does not change the answer, so not the key either.
    assert cache_key("fake", "echo", base.with_params(metadata={"id": "q1"})) in keys


def test_entries_expire_after_ttl(tmp_path: Path) -> None:
    request = Request.from_prompt("one two three", temperature=0)
    ctx = context("cache: {ttl_days: 1}\n")
    run(ctx, request)
    db = sqlite3.connect(cache_path())
    db.execute("UPDATE responses SET ts = ?", (time.time() - 2 * 86400,))
    db.commit()
    db.close()
    assert run(ctx, request)[0] is False


def test_an_unusable_cache_file_is_skipped() -> None:
    path = cache_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not sqlite" * 500)
    request = Request.from_prompt("one two three", temperature=0)
    assert run(context(), request) == (False, 0.006)
    cache = ResponseCache(path)
    assert cache.get("fake", "echo", request) is None


def test_llm_run_reports_a_cache_hit() -> None:
    args = ("run", "-m", "fake:echo", "--temperature", "0", "--json", "cached words")
    first = json.loads(run_in_process(*args).stdout)
    second = json.loads(run_in_process(*args).stdout)
    assert (first["cache_hit"], second["cache_hit"]) == (False, True)
    assert second["text"] == first["text"] == "cached words"
    assert second["cost_usd"] == 0.0
    uncached = json.loads(run_in_process(*args[:-1], "--no-cache", "cached words").stdout)
    assert uncached["cache_hit"] is False


def test_a_damaged_entry_is_a_miss_said_once_and_replaced() -> None:
    ctx = context()
    request = Request.from_prompt("one two three", temperature=0)
    said: list[str] = []
    cache = ResponseCache(warn=said.append)
    assert cache.get("fake", "echo", request) is None  # creates the file
    key = cache_key("fake", "echo", request)
    other = Request.from_prompt("four five", temperature=0)
    db = sqlite3.connect(cache_path())
    for k, damaged in ((key, {"text": 5}), (cache_key("fake", "echo", other), [1])):
        db.execute(
            "INSERT INTO responses (key, ts, completion) VALUES (?, ?, ?)",
            (k, time.time(), json.dumps(damaged)),
        )
    db.commit()
    assert cache.get("fake", "echo", request) is None
    assert cache.get("fake", "echo", other) is None
    assert len(said) == 1 and "damaged entry" in said[0]
    assert db.execute("SELECT COUNT(*) FROM responses").fetchone() == (0,)
    # The next run answers from the engine and stores a good entry again.
    assert run(ctx, request) == (False, 0.006)
    assert run(ctx, request) == (True, 0.0)
    db.close()


def test_a_damaged_entry_does_not_stop_llm_run() -> None:
    request = Request.from_prompt("hello cache", temperature=0.0)
    ResponseCache().get("fake", "echo", request)
    db = sqlite3.connect(cache_path())
    db.execute(
        "INSERT INTO responses (key, ts, completion) VALUES (?, ?, ?)",
        (cache_key("fake", "echo", request), time.time(), '{"text": 5}'),
    )
    db.commit()
    db.close()
    result = run_in_process("run", "-m", "fake:echo", "-t", "0", input="hello cache")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"hello cache\n"
    assert result.stderr.decode().count("damaged entry") == 1

"""`llm run --jsonl --concurrency N`: the real openai SDK against loopback doubles that answer
out of order, the body run in-process with its own streams (cli/run_impl.py)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from convergio_llm.cli.context import Environment
from convergio_llm.cli.run_impl import RunOptions, run_command
from convergio_llm.providers.base import Chunk, Completion, Provider, Request, Stopwatch, Usage
from convergio_llm.providers.registry import Registry
from convergio_llm.routing.config import Config
from convergio_llm.routing.context import Context
from convergio_llm.routing.decide import Policy
from tests.cli.test_ledger_race import ledger_rows as ledger
from tests.servers.openai_gated import EchoServer, GatedServer

COMPLETION = "convergio-llm/completion/v1"
ERROR = "convergio-llm/error/v1"


def config_for(server: EchoServer, **extra: Any) -> dict[str, Any]:
    settings = {"kind": "openai", "base_url": server.url + "/v1", **extra.pop("settings", {})}
    return {"providers": {"vllm": settings}, **extra}


def run(
    config: dict[str, Any],
    lines: list[str],
    concurrency: int,
    model: str = "vllm:m",
    registry: Registry | None = None,
    stderr: io.StringIO | None = None,
    **options: Any,
) -> tuple[int, list[dict[str, Any]], str]:
    cfg = Config(data=config)
    env = Environment(
        stdin=io.BytesIO("".join(line + "\n" for line in lines).encode()),
        stdout=io.StringIO(),
        stderr=stderr or io.StringIO(),
        environ={},
        _config=cfg,
        _routing=Context(cfg, registry or Registry(cfg.providers, load_plugins=False)),
    )
    try:
        status = run_command(
            env,
            RunOptions(jsonl=True, policy=Policy(model=model), concurrency=concurrency, **options),
        )
    finally:
        env.close()
    out = env.stdout.getvalue()  # type: ignore[attr-defined]
    return status, [json.loads(x) for x in out.splitlines()], env.stderr.getvalue()  # type: ignore[attr-defined]


def prompts(n: int) -> list[str]:
    return [json.dumps({"id": f"q{i}", "prompt": f"answer {i}"}) for i in range(n)]


def test_answers_leave_in_input_order_when_the_server_answers_out_of_order() -> None:
    with GatedServer(group=4) as server:
        status, out, _ = run(config_for(server), prompts(12), concurrency=4)
    assert status == 0
    assert server.max_in_flight == 4  # N at once, never more
    assert server.answer_order[:4] == [3, 2, 1, 0]  # the server really answered backwards
    assert [o["id"] for o in out] == [f"q{i}" for i in range(12)]
    assert [o["text"] for o in out] == [f"answer {i}" for i in range(12)]


def test_a_serial_run_never_fills_the_gate() -> None:
    """The gate proves concurrency: without --concurrency it only ever sees one request."""
    with GatedServer(group=2, gate_timeout_s=0.2) as server:
        status, out, _ = run(config_for(server), prompts(2), concurrency=1)
    assert status == 0 and len(out) == 2
    assert server.max_in_flight == 1


def test_bad_lines_are_reported_by_number_in_place_and_the_rest_go_on() -> None:
    lines = prompts(6)
    lines[2] = "{not json"
    lines[4] = json.dumps({"id": "empty", "messages": []})
    with GatedServer(group=2, gate_timeout_s=0.5) as server:
        status, out, err = run(config_for(server), lines, concurrency=3)
    assert [o["id"] for o in out] == ["q0", "q1", "3", "q3", "5", "q5"]
    assert [o["schema"] for o in out] == [
        COMPLETION,
        COMPLETION,
        ERROR,
        COMPLETION,
        ERROR,
        COMPLETION,
    ], out  # a good line that failed shows its error
    assert out[2]["line"] == 3 and out[4]["line"] == 5
    assert status == 2  # the first failure's: a usage error
    assert err.index("line 3:") < err.index("line 5:")


def test_provider_errors_stay_on_their_own_line() -> None:
    with EchoServer() as server:
        server.models = ["m"]  # anything else is a 404 model_not_found
        status, out, err_good = run(config_for(server), prompts(5), concurrency=4, model="vllm:m")
        status_bad, out_bad, err = run(
            config_for(server), prompts(3), concurrency=4, model="vllm:missing"
        )
    assert status == 0 and [o["schema"] for o in out] == [COMPLETION] * 5, (out, err_good)
    assert status_bad == 2  # model not found is a usage error
    assert [o["schema"] for o in out_bad] == [ERROR] * 3
    assert [o["id"] for o in out_bad] == ["q0", "q1", "q2"]
    assert err.count("error: line") == 3


# fake prices: $2,000 per million output tokens, input free; max_tokens 5 → exactly $0.01 a call,
# and the pre-call estimate equals the real cost, so a budget for 13 calls is exact.
PRICED = {"prices": {"vllm:m": {"input_per_mtok": 0, "output_per_mtok": 2000}}}


def capped(n: int) -> list[str]:
    return [
        json.dumps({"id": f"q{i}", "prompt": "one two three four five six", "max_tokens": 5})
        for i in range(n)
    ]


def test_a_budget_for_13_calls_lets_exactly_13_of_40_through_at_8_at_once() -> None:
    with EchoServer() as server:
        config = config_for(server, **PRICED, budgets={"daily_usd": 0.13})
        status, out, _ = run(config, capped(40), concurrency=8)
        calls = len(server.requests)
    ok = [o for o in out if o["schema"] == COMPLETION]
    refused = [o for o in out if o["schema"] == ERROR]
    assert len(ok) == 13 and calls == 13
    assert all(o["cost_usd"] == 0.01 for o in ok)
    assert len(refused) == 27 and all(o["error"]["exit_code"] == 4 for o in refused)
    assert [o["id"] for o in out] == [f"q{i}" for i in range(40)]
    assert status == 4
    assert ledger("SELECT COUNT(*), SUM(cost_nusd) FROM attempts WHERE outcome = 'ok'") == [
        (13, 13 * 10_000_000)
    ]
    assert ledger("SELECT COUNT(*) FROM attempts WHERE outcome = 'refused'") == [(27,)]
    assert ledger("SELECT COUNT(*) FROM reservations") == [(0,)]


def test_every_attempt_is_recorded_exactly_once_under_concurrency() -> None:
    with EchoServer() as server:
        status, out, _ = run(config_for(server, **PRICED), capped(64), concurrency=8)
    assert status == 0 and len(out) == 64
    assert ledger("SELECT COUNT(*), SUM(cost_nusd) FROM attempts") == [(64, 64 * 10_000_000)]


def test_max_concurrency_in_config_caps_calls_to_that_provider() -> None:
    with GatedServer(group=3, gate_timeout_s=0.3) as server:
        config = config_for(server, settings={"max_concurrency": 2})
        status, out, _ = run(config, prompts(9), concurrency=8)
    assert status == 0 and len(out) == 9
    assert server.max_in_flight == 2


class CountingEngine(Provider):
    """An in-process backend that counts how many generations run at once."""

    kind = "counting"
    locality = "in-process"
    running = 0
    most = 0

    def stream(self, request: Request, model: str) -> Iterator[Chunk | Completion]:
        clock = Stopwatch()
        cls = type(self)
        cls.running += 1
        cls.most = max(cls.most, cls.running)
        try:
            # Give another thread every chance to enter: wait for a peer that must not come.
            import threading

            threading.Event().wait(0.02)
            yield Chunk("ok")
        finally:
            cls.running -= 1
        yield clock.completion(self, model, "ok", "stop", Usage(1, 1, source="provider"))


def test_in_process_engines_stay_serial_and_say_so_once() -> None:
    cfg: Mapping[str, Any] = {}
    registry = Registry(cfg, kinds={"counting": CountingEngine}, load_plugins=False)
    status, out, err = run({}, prompts(8), concurrency=4, model="counting:x", registry=registry)
    assert status == 0 and len(out) == 8
    assert CountingEngine.most == 1
    assert err.count("counting runs in-process") == 1


class TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_goes_to_a_terminal_stderr_only() -> None:
    with EchoServer() as server:
        _, out, err = run(config_for(server), prompts(5), concurrency=2, stderr=TTY())
        _, _, plain = run(config_for(server), prompts(5), concurrency=2)
    assert "lines answered" in err
    assert len(out) == 5  # stdout stays pure JSON Lines
    assert "lines answered" not in plain


def test_concurrency_below_one_is_a_usage_error() -> None:
    from convergio_llm.providers.errors import InputError

    with pytest.raises(InputError, match="--concurrency must be at least 1"):
        run({}, prompts(1), concurrency=0)

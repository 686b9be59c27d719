"""`llm run --jsonl --concurrency N` against a loopback server with 50 ms of latency a request.

    .venv/bin/python -m pytest tests/benchmarks/bench_concurrency.py -s
    python tests/benchmarks/bench_concurrency.py

500 requests (BENCH_REQUESTS) through the real `run_command()` body and the real openai SDK,
to the echo double answering each after BENCH_LATENCY_S (0.05): wall time at N = 1, 4, 16,
the speed-up over N = 1 (goal ≥ 0.8 × N: the client is not the bottleneck), and the
overhead per request at N = 16: (wall − requests × latency / N) / requests. No ledger or
cache (they are measured elsewhere). No assertions: figures only.

The double runs in a process of its own (BENCH_SERVER=process, the default), so client and
server do not share one GIL and the figures are the client's; BENCH_SERVER=thread puts it
in the client's process as before. Each row also gives the server's highest number of
requests in flight at once (`GET /_stats` on the double): N in flight means the client
kept N requests outstanding, so a shortfall is time spent between requests.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "500"))
LATENCY_S = float(os.environ.get("BENCH_LATENCY_S", "0.05"))
LEVELS = (1, 4, 16)
SERVER = os.environ.get("BENCH_SERVER", "process")
ROOT = Path(__file__).resolve().parents[2]


def _wall(url: str, concurrency: int, lines: bytes) -> tuple[float, float, int]:
    """Wall seconds, this process's CPU seconds (all threads), and lines answered."""
    from convergio_llm.cli.context import Environment
    from convergio_llm.cli.run_impl import RunOptions, run_command
    from convergio_llm.providers.registry import Registry
    from convergio_llm.routing.config import Config
    from convergio_llm.routing.context import Context
    from convergio_llm.routing.decide import Policy

    cfg = Config(data={"providers": {"bench": {"kind": "openai", "base_url": url + "/v1"}}})
    out = io.StringIO()
    env = Environment(
        stdin=io.BytesIO(lines),
        stdout=out,
        stderr=io.StringIO(),
        environ={},
        _config=cfg,
        _routing=Context(cfg, Registry(cfg.providers, load_plugins=False)),
    )
    options = RunOptions(
        jsonl=True,
        policy=Policy(model="bench:m"),
        concurrency=concurrency,
        use_cache=False,
        use_ledger=False,
        use_cooldown=False,
    )
    started, cpu = time.perf_counter(), time.process_time()
    status = run_command(env, options)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    env.close()
    assert status == 0, env.stderr.getvalue()  # type: ignore[attr-defined]
    return wall, cpu, len(out.getvalue().splitlines())


def measure() -> list[dict[str, float]]:
    os.environ.setdefault("OPENAI_API_KEY", "sk-bench-loopback-only-000000")
    lines = "".join(
        json.dumps({"id": f"q{i}", "prompt": f"bench prompt number {i}"}) + "\n"
        for i in range(REQUESTS)
    ).encode()
    rows = []
    with echo_server() as (url, peak):
        _wall(url, 4, lines[: lines.index(b"\n", 2000) + 1])  # warm: imports, connections
        peak()
        base = None
        for n in LEVELS:
            wall, cpu, answered = _wall(url, n, lines)
            base = base or wall
            ideal = REQUESTS * LATENCY_S / n
            rows.append(
                {
                    "concurrency": n,
                    "answered": answered,
                    "wall_s": wall,
                    "speedup": base / wall,
                    "efficiency": base / wall / n,
                    "overhead_ms": (wall - ideal) / REQUESTS * 1000,
                    "server_max_in_flight": peak(),
                    # With the double in its own process this is the client's alone: at
                    # 1 / cpu_ms requests per second one GIL is saturated.
                    "client_cpu_ms": cpu / REQUESTS * 1000,
                }
            )
    return rows


@contextmanager
def echo_server() -> Iterator[tuple[str, Callable[[], int]]]:
    """The 50 ms double's URL, and a call that reads (and resets) its highest in-flight
    count since the last read."""
    if SERVER == "thread":
        from tests.servers.openai_gated import EchoServer

        with EchoServer(latency_s=LATENCY_S, api_key=None) as server:

            def peak() -> int:
                seen, server.max_in_flight = server.max_in_flight, 0
                return seen

            yield server.url, peak
        return
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(LATENCY_S)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        url = child.stdout.readline().strip()

        def peak() -> int:
            import requests

            return int(requests.get(url + "/_stats", timeout=10).json()["max_in_flight"])

        yield url, peak
    finally:
        assert child.stdin is not None
        child.stdin.close()  # the double stops when its stdin closes
        child.wait(timeout=30)


def serve(latency_s: float) -> None:
    """The child: the echo double on loopback until stdin closes; its URL on stdout."""
    from tests.servers.base import Response
    from tests.servers.openai_gated import EchoServer

    with EchoServer(latency_s=latency_s, api_key=None) as server:

        def stats(rec: object, match: object) -> Response:
            with server._count_lock:
                seen, server.max_in_flight = server.max_in_flight, 0
                server.requests.clear()  # 1500 recorded bodies are of no use here
            return Response.json({"max_in_flight": seen})

        server.route("GET", r"/_stats", stats)
        print(server.url, flush=True)
        sys.stdin.read()


def report(rows: list[dict[str, float]]) -> str:
    head = f"{REQUESTS} requests, {LATENCY_S * 1000:g} ms latency each, server in a {SERVER}"
    lines = [
        head,
        "  N   wall s  speed-up  ×N efficiency  overhead/request  server max in flight"
        "  process CPU/request",
    ]
    for r in rows:
        lines.append(
            f"{r['concurrency']:>3}  {r['wall_s']:7.2f}  {r['speedup']:8.2f}  "
            f"{r['efficiency']:13.2f}  {r['overhead_ms']:8.2f} ms  {r['server_max_in_flight']:>12}"
            f"  {r['client_cpu_ms']:12.2f} ms"
        )
    return "\n".join(lines)


def test_concurrency_speedup() -> None:
    print("\n" + report(measure()))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))  # for tests.servers
    if sys.argv[1:2] == ["--serve"]:
        serve(float(sys.argv[2]))
    else:
        print(report(measure()))

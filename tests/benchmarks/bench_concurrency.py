"""`llm run --jsonl --concurrency N` against a loopback server with 50 ms of latency a request.

    .venv/bin/python -m pytest tests/benchmarks/bench_concurrency.py -s
    python tests/benchmarks/bench_concurrency.py

500 requests (BENCH_REQUESTS) through the real `run_command()` body and the real openai SDK,
to the echo double answering each after BENCH_LATENCY_S (0.05): wall time at N = 1, 4, 16,
the speed-up over N = 1 (goal ≥ 0.8 × N: the client is not the bottleneck), and the
overhead per request at N = 16: (wall − requests × latency / N) / requests. No ledger or
cache (they are measured elsewhere). No assertions: figures only.
"""

from __future__ import annotations

import io
import json
import os
import sys
import time
from pathlib import Path

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "500"))
LATENCY_S = float(os.environ.get("BENCH_LATENCY_S", "0.05"))
LEVELS = (1, 4, 16)


def _wall(url: str, concurrency: int, lines: bytes) -> tuple[float, int]:
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
    started = time.perf_counter()
    status = run_command(env, options)
    wall = time.perf_counter() - started
    env.close()
    assert status == 0, env.stderr.getvalue()  # type: ignore[attr-defined]
    return wall, len(out.getvalue().splitlines())


def measure() -> list[dict[str, float]]:
    from tests.servers.openai_gated import EchoServer

    os.environ.setdefault("OPENAI_API_KEY", "sk-bench-loopback-only-000000")
    lines = "".join(
        json.dumps({"id": f"q{i}", "prompt": f"bench prompt number {i}"}) + "\n"
        for i in range(REQUESTS)
    ).encode()
    rows = []
    with EchoServer(latency_s=LATENCY_S, api_key=None) as server:
        _wall(server.url, 4, lines[: lines.index(b"\n", 2000) + 1])  # warm: imports, connections
        base = None
        for n in LEVELS:
            wall, answered = _wall(server.url, n, lines)
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
                }
            )
    return rows


def report(rows: list[dict[str, float]]) -> str:
    head = f"{REQUESTS} requests, {LATENCY_S * 1000:g} ms latency each"
    lines = [head, "  N   wall s  speed-up  ×N efficiency  overhead/request"]
    for r in rows:
        lines.append(
            f"{r['concurrency']:>3}  {r['wall_s']:7.2f}  {r['speedup']:8.2f}  "
            f"{r['efficiency']:13.2f}  {r['overhead_ms']:8.2f} ms"
        )
    return "\n".join(lines)


def test_concurrency_speedup() -> None:
    print("\n" + report(measure()))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # for tests.servers
    print(report(measure()))

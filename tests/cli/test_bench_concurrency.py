"""`llm bench --concurrency 2` against the Ollama wire double: requests really overlap.

Every figure expected here comes from the double's script: each streamed answer takes
first_token_delay_s + (words - 1) × token_delay_s on the server, and the double records
when each stream started and ended, so overlap is seen from the server's side.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import llm
from tests.servers.ollama import DEFAULT_REPLY, OllamaServer

MODEL = "llama3.2:3b"
FIRST_TOKEN_S = 0.1
TOKEN_S = 0.03
REPETITIONS = 4
# one request as the script paces it: 0.1 s + 11 × 30 ms = 0.43 s
ONE_REQUEST_S = FIRST_TOKEN_S + (len(DEFAULT_REPLY.split()) - 1) * TOKEN_S


def most_in_flight(spans: list[tuple[float, float]]) -> int:
    """The largest number of spans open at one instant (checked at every start)."""
    return max(sum(1 for s, e in spans if s <= start < e) for start, _ in spans)


def test_two_requests_in_flight_at_once(tmp_path: Path) -> None:
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("why is the sky blue? answer in a few plain words please\n")
    server = OllamaServer(first_token_delay_s=FIRST_TOKEN_S, token_delay_s=TOKEN_S)
    with server:
        result = llm(
            "bench",
            "--json",
            "-m",
            f"ollama:{MODEL}",
            "--prompts",
            str(prompts),
            "-n",
            str(REPETITIONS),
            "--warmup",
            "0",
            "--concurrency",
            "2",
            env={"OLLAMA_HOST": server.url},
        )
        spans = server.wait_for_spans(REPETITIONS)
    assert result.code == 0, result.stderr
    record = json.loads(result.stdout)
    samples = record["samples"]
    assert len(samples) == REPETITIONS
    assert all(s["ok"] for s in samples), [s.get("error") for s in samples]
    assert sorted(s["rep"] for s in samples) == list(range(REPETITIONS))
    assert len(spans) == REPETITIONS
    # Two in flight at once, seen by the server: the overlap itself, not a wall-clock bound.
    assert most_in_flight(spans) == 2

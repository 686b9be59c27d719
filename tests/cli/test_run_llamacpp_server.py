"""`--concurrency` against a real OpenAI-compatible server: llama-cpp-python's, on loopback,
serving the embedded Gemma, reached through a named `kind: openai` instance."""

from __future__ import annotations

import json

import pytest

from tests.cli.test_run_concurrency import run
from tests.servers.llama_server import MODEL_ALIAS

QUESTIONS = [
    "The capital of France is",
    "Two plus two equals",
    "The opposite of hot is",
    "The colour of the sky is",
    "A group of crows is called",
    "Water boils at",
]


@pytest.mark.engine
def test_concurrent_answers_match_a_serial_run_line_for_line(llamacpp_server: str) -> None:
    config = {"providers": {"gemma": {"kind": "openai", "base_url": llamacpp_server + "/v1"}}}
    lines = [
        json.dumps({"id": f"q{i}", "prompt": q, "max_tokens": 8, "temperature": 0, "seed": 1})
        for i, q in enumerate(QUESTIONS)
    ]
    model = f"gemma:{MODEL_ALIAS}"
    serial_status, serial, _ = run(config, lines, concurrency=1, model=model, use_cache=False)
    status, parallel, err = run(config, lines, concurrency=4, model=model, use_cache=False)
    assert (serial_status, status) == (0, 0), err
    assert [o["id"] for o in parallel] == [f"q{i}" for i in range(len(QUESTIONS))]
    # This small model starts every answer by repeating the prompt: each line got its own
    # answer, whole, whatever else was in flight. (Exact text may differ from a serial run:
    # the server's prompt cache holds a different previous request.)
    for question, one, other in zip(QUESTIONS, parallel, serial, strict=True):
        assert one["text"].startswith(question), (one["text"], other["text"])
        assert one["finish_reason"] in ("stop", "length")
    assert "runs in-process" not in err  # a server: the lines really went in parallel

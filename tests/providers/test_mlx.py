"""The mlx provider against real mlx-lm on CPU, with a tiny random-weight model (no download).

The model's text is noise; these tests check the plumbing: streaming, usage, finish
reasons, the chat template, stop strings, seeds, and that a model loads once.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from convergio_llm.providers.base import Chunk, Completion, Request
from convergio_llm.providers.errors import BadRequest, ModelNotFound
from convergio_llm.providers.local_engines import StopScanner
from convergio_llm.providers.mlx import MLXProvider
from tests.conftest import run_llm
from tests.providers._engines import without_packages

PROMPT = "hello world"


@pytest.fixture(scope="module")
def mlx() -> MLXProvider:
    """One provider for the module, so the tiny model loads once, as in a real process."""
    return MLXProvider()


def run(provider: MLXProvider, model: Path, **params: object) -> tuple[list[str], Completion]:
    chunks: list[str] = []
    for item in provider.stream(Request.from_prompt(PROMPT, **params), str(model)):
        if isinstance(item, Chunk):
            chunks.append(item.text)
        else:
            return chunks, item
    raise AssertionError("stream ended without a Completion")


# --- no engine needed -------------------------------------------------------------


@pytest.mark.parametrize(
    ("pieces", "stop", "emitted", "stopped"),
    [
        (["ab", "cST", "OPd"], "STOP", "abc", True),  # a stop split over three pieces
        (["abS", "Tx"], "STOP", "abSTx", False),  # a false start is released
        (["abc"], "", "abc", False),  # an empty stop string is no stop
        (["xx", "S"], "STOP", "xxS", False),  # held back, then flushed at the end
    ],
)
def test_stop_scanner(pieces: list[str], stop: str, emitted: str, stopped: bool) -> None:
    scanner = StopScanner([stop])
    out = "".join(scanner.feed(p) for p in pieces if not scanner.stopped)
    if not scanner.stopped:
        out += scanner.flush()
    assert (out, scanner.stopped) == (emitted, stopped)


def test_available_does_not_import_mlx() -> None:
    code = (
        "import sys\n"
        "from convergio_llm.providers.mlx import MLXProvider\n"
        "ok = MLXProvider().available()\n"
        "print(bool(ok), 'mlx' in sys.modules, 'mlx_lm' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, text=True)
    # The default model is not in this test's empty Hugging Face cache: unavailable, and found
    # out without importing mlx.
    assert out.stdout.split() == ["False", "False", "False"]


def test_missing_mlx_says_what_to_install(tmp_path: Path, tiny_mlx_model: Path) -> None:
    env = without_packages(tmp_path / "site", "mlx_lm")
    code = "from convergio_llm.providers.mlx import MLXProvider; print(MLXProvider().available())"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, check=True, text=True, env=env
    )
    assert "pip install 'convergio-llm[mlx]'" in out.stdout
    result = run_llm("run", "-m", f"mlx:{tiny_mlx_model}", input="hi", env=env)
    assert result.returncode == 3
    assert b"pip install 'convergio-llm[mlx]'" in result.stderr
    assert b"Traceback" not in result.stderr


# --- real mlx-lm ------------------------------------------------------------------


@pytest.mark.engine
def test_streams_then_completes(mlx: MLXProvider, tiny_mlx_model: Path) -> None:
    chunks, done = run(mlx, tiny_mlx_model, max_tokens=6)
    assert done.text == "".join(chunks)
    assert done.finish_reason == "length"
    assert done.usage.output_tokens == 6
    assert done.usage.source == "provider"
    assert done.provider == "mlx"
    assert done.model == str(tiny_mlx_model)
    stats = done.raw_stats
    assert stats["generation_tokens"] == 6
    assert stats["generation_tps"] > 0
    assert stats["prompt_tps"] > 0
    assert stats["peak_memory_gb"] > 0
    assert done.timings.total_s > 0


@pytest.mark.engine
def test_chat_template_is_applied(mlx: MLXProvider, tiny_mlx_model: Path) -> None:
    from transformers import PreTrainedTokenizerFast

    tokenizer = PreTrainedTokenizerFast.from_pretrained(str(tiny_mlx_model))
    # The fixture's template, rendered by hand for one user message.
    templated = tokenizer.encode(f"<s>user: {PROMPT}\nassistant: ", add_special_tokens=False)
    bare = tokenizer.encode(PROMPT, add_special_tokens=False)
    _, done = run(mlx, tiny_mlx_model, max_tokens=1)
    assert len(templated) > len(bare)
    assert done.usage.input_tokens == len(templated)


@pytest.mark.engine
def test_stop_string_ends_the_stream(mlx: MLXProvider, tiny_mlx_model: Path) -> None:
    _, full = run(mlx, tiny_mlx_model, max_tokens=20, temperature=0)
    assert len(full.text) >= 6, "the tiny model should say something to cut"
    stop = full.text[3:5]
    _, cut = run(mlx, tiny_mlx_model, max_tokens=20, temperature=0, stop=(stop,))
    assert cut.text == full.text[: full.text.find(stop)]
    assert cut.finish_reason == "stop"
    assert stop not in cut.text


@pytest.mark.engine
def test_end_of_sequence_finishes_with_stop(mlx: MLXProvider, tiny_mlx_model: Path) -> None:
    # Random weights emit </s> sooner or later when sampling; look for a seed that shows it.
    for seed in range(30):
        _, done = run(mlx, tiny_mlx_model, max_tokens=40, temperature=1.0, seed=seed)
        if done.finish_reason == "stop":
            # mlx-lm counts the end-of-sequence token in generation_tokens.
            assert 1 <= done.usage.output_tokens < 40
            return
    pytest.fail("no seed in 0..29 made the tiny model emit its end-of-sequence token")


@pytest.mark.engine
def test_seed_makes_sampling_repeatable(mlx: MLXProvider, tiny_mlx_model: Path) -> None:
    texts = {run(mlx, tiny_mlx_model, max_tokens=12, temperature=1.0, seed=7)[1].text for _ in "ab"}
    other = run(mlx, tiny_mlx_model, max_tokens=12, temperature=1.0, seed=8)[1].text
    assert len(texts) == 1
    assert other not in texts


@pytest.mark.engine
def test_model_loads_once(tiny_mlx_model: Path) -> None:
    provider = MLXProvider()
    first = run(provider, tiny_mlx_model, max_tokens=2)[1]
    second = run(provider, tiny_mlx_model, max_tokens=2)[1]
    assert first.timings.load_s is not None and first.timings.load_s > 0
    assert second.timings.load_s is None


@pytest.mark.engine
def test_jsonl_batch_through_the_cli_loads_once(tiny_mlx_model: Path) -> None:
    lines = "".join(json.dumps({"prompt": f"hello {i}", "id": f"q{i}"}) + "\n" for i in range(3))
    result = run_llm(
        "run", "--jsonl", "--max-tokens", "3", "-m", f"mlx:{tiny_mlx_model}", input=lines
    )
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["id"] for a in answers] == ["q0", "q1", "q2"]
    loads = [a["timings"]["load_s"] for a in answers]
    assert loads[0] > 0
    assert loads[1:] == [None, None]
    assert all(a["usage"]["output_tokens"] == 3 for a in answers)


@pytest.mark.engine
def test_missing_model_names_the_path(mlx: MLXProvider, tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound, match=str(tmp_path / "absent")):
        run(mlx, tmp_path / "absent")
    with pytest.raises(ModelNotFound, match="not in the local Hugging Face cache"):
        list(mlx.stream(Request.from_prompt("hi"), "mlx-community/not-here"))


@pytest.mark.engine
def test_zero_max_tokens_is_refused(mlx: MLXProvider, tiny_mlx_model: Path) -> None:
    with pytest.raises(BadRequest, match="max_tokens"):
        run(mlx, tiny_mlx_model, max_tokens=0)

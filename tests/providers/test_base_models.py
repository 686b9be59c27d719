"""Base models prompted as base models: the frame, the repetition guard, and the real engine."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from convergio_llm.providers.base import Chunk, Completion, Message, Request
from convergio_llm.providers.base_models import (
    QA_STOPS,
    RepetitionGuard,
    base_prompt,
    reads_as_continuation,
)
from convergio_llm.providers.llamacpp import LlamaCppProvider
from tests.conftest import run_in_process


def guarded(pieces: list[str], context: str = "", lstrip: bool = False) -> tuple[str, bool]:
    guard = RepetitionGuard(context, lstrip=lstrip)
    out = "".join(guard.feed(p) for p in pieces)
    return out + guard.flush(), guard.stopped


# --- the frame ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prompt", "continued"),
    [
        ("The capital of France is", True),
        ("Once upon a time, in a small village,", True),
        ("What is the capital of France?", False),
        ("the capital of France?", False),
        ("name three primes", False),
        ("Explain TCP in one line", False),
        ("", False),
    ],
)
def test_a_lone_prompt_is_continued_only_when_it_reads_as_a_sentence(
    prompt: str, continued: bool
) -> None:
    assert reads_as_continuation(prompt) is continued


def test_a_sentence_is_continued_as_it_is() -> None:
    assert base_prompt([Message("user", "The capital of France is")]) == (
        "The capital of France is",
        (),
    )


def test_a_conversation_becomes_a_question_answer_frame() -> None:
    messages = [
        Message("system", "Answer briefly."),
        Message("user", "name three primes"),
        Message("assistant", " 2, 3 and 5. "),
        Message("user", "and their sum?"),
    ]
    text, stops = base_prompt(messages)
    assert text == "Answer briefly.\n\nQ: name three primes\nA: 2, 3 and 5.\nQ: and their sum?\nA:"
    assert stops == QA_STOPS == ("\nQ:", "\n\n")
    assert "User:" not in text and "Assistant:" not in text


# --- the repetition guard -------------------------------------------------------------


def test_a_repeated_sentence_is_cut_back_to_the_first() -> None:
    pieces = [" the capital", " of the country of France.", " It is the", " largest city."]
    pieces += [" It is the capital of the country", " of France. It is"]
    out, stopped = guarded(pieces, context="The capital of France is")
    assert out == " the capital of the country of France. It is the largest city."
    assert stopped


def test_repeating_the_prompt_counts_as_a_repeat() -> None:
    question = "What is the capital of France?"
    out, stopped = guarded(["Paris.\n\n", "What is the ", "capital of France?", "\n"], question)
    assert (out, stopped) == ("Paris.", True)


def test_text_without_a_repeat_passes_whole_in_order() -> None:
    text = "one two three four five six seven eight nine ten eleven. twelve"
    pieces = [text[i : i + 3] for i in range(0, len(text), 3)]
    assert guarded(pieces) == (text, False)


def test_what_was_released_is_never_taken_back() -> None:
    guard = RepetitionGuard()
    released = ""
    for word in re.findall(r"\S+", "a b c d e f. g h i j k l. a b c d e f. m n"):
        released += guard.feed(word + " ")
        assert "m" not in released
    assert released == "a b c d e f. g h i j k l."
    assert guard.stopped and guard.flush() == ""


def test_a_stuttering_word_stops_the_stream() -> None:
    out, stopped = guarded(["Given: 1", "0" * 40, "0" * 40])
    assert (out, stopped) == ("Given:", True)


def test_a_big_round_number_is_not_a_stutter() -> None:
    assert guarded(["It costs 1000000000 dollars."]) == ("It costs 1000000000 dollars.", False)


def test_lstrip_drops_the_blank_after_the_answer_mark() -> None:
    assert guarded([" ", "\n Paris", " is the answer"], lstrip=True) == (
        "Paris is the answer",
        False,
    )


# --- the real engine with the embedded Gemma 3 270M -----------------------------------


@pytest.fixture(scope="module")
def gemma(gemma_gguf: Path) -> Path:
    # The session's copy of the embedded model (tests/conftest.py), not the user's cache:
    # a module fixture runs before each test's empty home is set up.
    return gemma_gguf


def complete(prompt: str | Request, model: Path) -> tuple[str, Completion]:
    request = Request.from_prompt(prompt) if isinstance(prompt, str) else prompt
    chunks: list[str] = []
    for item in LlamaCppProvider(settings={"n_ctx": 1024}).stream(request, str(model)):
        if isinstance(item, Chunk):
            chunks.append(item.text)
        else:
            return "".join(chunks), item
    raise AssertionError("stream ended without a Completion")


def sentences(text: str) -> list[str]:
    return [s.strip().lower() for s in re.split(r"(?<=[.!?])\s+|\n", text) if s.strip()]


@pytest.mark.engine
def test_a_question_gets_one_answer(gemma: Path) -> None:
    streamed, done = complete("What is the capital of France?", gemma)
    assert done.text == streamed
    assert done.text.count("Paris") == 1, done.text
    assert "capital of France?" not in done.text  # the question is not asked again
    assert "Q:" not in done.text and "\n\n" not in done.text
    assert done.finish_reason == "stop"


@pytest.mark.engine
def test_the_main_job_prints_no_sentence_twice(gemma: Path) -> None:
    _, done = complete("The capital of France is", gemma)
    said = sentences(done.text)
    assert said, done.text
    assert len(said) == len(set(said)), done.text
    assert done.text.rstrip().endswith((".", "!", "?")), done.text
    assert done.finish_reason == "stop"  # ended by the guard or the model, not max_tokens


@pytest.mark.engine
def test_a_system_prompt_is_not_continued_as_a_transcript(gemma: Path) -> None:
    request = Request.from_prompt("What is the capital of France?", system="Answer in one line.")
    _, done = complete(request, gemma)
    assert "Paris" in done.text
    assert not re.search(r"(User|Assistant|System|Q|A):", done.text), done.text


@pytest.mark.engine
def test_the_cli_main_job_prints_one_clean_answer(embedded_model_cached: Path) -> None:
    result = run_in_process("run", input="What is the capital of France?\n")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode().splitlines()
    assert len(lines) == 1 and lines[0].count("Paris") == 1, lines


# --- mlx-lm with a model that has no chat template ---------------------------------------


@pytest.fixture(scope="module")
def tiny_base_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny mlx model with its chat template taken out: a base model."""
    import json

    from tests.servers.tiny_mlx import make_tiny_mlx_model

    folder = make_tiny_mlx_model(tmp_path_factory.mktemp("tiny-base") / "tiny-llama")
    config_file = folder / "tokenizer_config.json"
    config = json.loads(config_file.read_text())
    config.pop("chat_template", None)
    config_file.write_text(json.dumps(config))
    (folder / "chat_template.jinja").unlink(missing_ok=True)
    return folder


@pytest.mark.engine
def test_mlx_prompts_a_base_model_with_the_frame(tiny_base_model: Path) -> None:
    from transformers import PreTrainedTokenizerFast

    from convergio_llm.providers.mlx import MLXProvider

    tokenizer = PreTrainedTokenizerFast.from_pretrained(str(tiny_base_model))
    assert not tokenizer.chat_template
    request = Request.from_prompt("hello world?", max_tokens=3)
    done = list(MLXProvider().stream(request, str(tiny_base_model)))[-1]
    assert isinstance(done, Completion)
    framed = tokenizer.encode("Q: hello world?\nA:")
    assert done.usage.input_tokens == len(framed) != len(tokenizer.encode("hello world?"))


# --- --schema and -a on the local engines ------------------------------------------------

NUMBER = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}


@pytest.mark.engine
def test_llamacpp_answers_a_schema_through_its_grammar(gemma: Path) -> None:
    import json

    from convergio_llm.routing.schema import validated

    request = Request.from_prompt("pick a number", schema=NUMBER, max_tokens=40)
    _, done = complete(request, gemma)
    assert validated(done.text, NUMBER) == json.loads(done.text)
    _, free = complete(Request.from_prompt("pick a number", max_tokens=40), gemma)
    assert not free.text.lstrip().startswith("{")  # without the grammar it would not be JSON


def test_the_engines_refuse_what_they_cannot_serve() -> None:
    from convergio_llm.providers.errors import BadRequest
    from convergio_llm.providers.mlx import MLXProvider
    from convergio_llm.providers.values import Attachment

    image = Request.from_prompt("what is this?", attachments=(Attachment("image/png", b"x"),))
    with pytest.raises(BadRequest, match="llamacpp cannot take images"):
        next(LlamaCppProvider().stream(image, "gemma-3-270m"))
    with pytest.raises(BadRequest, match=r"mlx has no structured output \(--schema\)"):
        next(MLXProvider().stream(Request.from_prompt("n?", schema=NUMBER), "any"))


def test_an_image_to_a_text_only_model_with_no_fallback_is_one_line(tmp_path: Path) -> None:
    image = tmp_path / "dot.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(16))
    import io

    from convergio_llm.cli.context import Environment
    from convergio_llm.cli.run_impl import RunOptions, run_command
    from convergio_llm.routing.decide import Policy

    env = Environment(stdin=io.BytesIO(b""), stdout=io.StringIO(), stderr=io.StringIO())
    options = RunOptions(
        prompt="what is this?", policy=Policy(model="llamacpp"), attachments=(str(image),)
    )
    # The capability rule refuses it before the engine loads: no target can serve it (exit 3).
    assert run_command(env, options) == 3
    err = env.stderr.getvalue()  # type: ignore[attr-defined]
    assert err.count("\n") == 1
    assert "llamacpp:gemma-3-270m: no vision: cannot take the image (-a)" in err


def test_the_benchmark_and_schema_streams_get_no_guard() -> None:
    from convergio_llm.providers.base_models import RAW_STREAM, new_guard

    plain = Request.from_prompt("x")
    assert isinstance(new_guard(plain, "x", False), RepetitionGuard)
    assert new_guard(plain.with_params(metadata={RAW_STREAM: True}), "x", False) is None
    assert new_guard(plain.with_params(schema={"type": "object"}), "x", False) is None

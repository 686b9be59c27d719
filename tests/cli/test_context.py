"""cli/context.py: the Environment's streams scrub secrets even when a secret arrives in pieces."""

from __future__ import annotations

import io
import itertools
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convergio_llm.cli.context import Environment, ScrubbedStream
from convergio_llm.providers.errors import MIN_RUN, register_secret_env, secret_values

KEY = "sk-ant-api03-Zq8Wv2Lm9Xc4Rt7Yb1Nk6Hs3Gd5Jf0Pe"
PASSWORD = "S3cretPassw0rd"


@pytest.fixture(autouse=True)
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("DB_PASSWORD", PASSWORD)
    # Which variables hold secrets is cached by the environment's size (providers/errors.py):
    # after another test swapped one variable for another, DB_PASSWORD could be missed.
    # Declaring the names clears that cache.
    register_secret_env("ANTHROPIC_API_KEY", "DB_PASSWORD")


class Recorder(io.StringIO):
    """An underlying stream that remembers each write, to see what arrived when."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return super().write(text)


def streamed(pieces: list[str]) -> str:
    out = Recorder()
    stream = ScrubbedStream(out)
    for piece in pieces:
        stream.write(piece)
    stream.flush()
    return out.getvalue()


def leaked_runs(text: str) -> list[str]:
    """Every piece of MIN_RUN characters of a secret (or a whole secret) found in `text`."""
    found = []
    for secret in (KEY, PASSWORD):
        found += [
            secret[i : i + MIN_RUN]
            for i in range(len(secret) - MIN_RUN + 1)
            if secret[i : i + MIN_RUN] in text
        ]
    return found


def split(text: str, cuts: list[int]) -> list[str]:
    points = sorted({0, len(text), *(c % (len(text) + 1) for c in cuts)})
    return [text[a:b] for a, b in itertools.pairwise(points)]


ANSWERS = [
    f"Your key is {KEY}, keep it safe.",
    f"echoed: Bearer {KEY[:20]}**** and later {KEY[9:30]}.",
    f"connect to postgres://app:{PASSWORD}@db.internal:5432/prod now",
    f"DB_PASSWORD={PASSWORD}\n",
    f"{KEY}{KEY[5:]}",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    answer=st.sampled_from(ANSWERS),
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=12),
    prefix=st.text(alphabet="abcXYZ09 -:/", max_size=12),
)
def test_no_secret_leaks_whatever_the_split_points(
    answer: str, cuts: list[int], prefix: str
) -> None:
    text = prefix + answer
    output = streamed(split(text, cuts))
    assert leaked_runs(output) == [], (split(text, cuts), output)
    assert PASSWORD not in output
    assert "[redacted]" in output


def test_a_key_split_in_two_writes_is_scrubbed() -> None:
    # Before the pieces were held back, each half passed the scrubber on its own.
    output = streamed(["here: sk-ant-api", KEY[len("sk-ant-api") :] + " done\n"])
    assert KEY[:MIN_RUN] not in output and leaked_runs(output) == []
    assert output == "here: [redacted] done\n"


def test_a_url_password_split_after_the_colon_is_scrubbed() -> None:
    output = streamed(["see http", "s://user:S3cr", "etPassw0rd@10.0.0.5/v1\n"])
    assert output == "see https://user:[redacted]@10.0.0.5/v1\n"


def test_an_ordinary_token_reaches_the_stream_before_the_next_is_written() -> None:
    # Ordinary words whose last letters are in no secret: nothing may wait for more text.
    out = Recorder()
    stream = ScrubbedStream(out)
    tokens = ["Hello", " you", ", oh", " jog", " dog", "?\n", "Go", " to", " go", "!"]
    for number, token in enumerate(tokens):
        stream.write(token)
        assert out.getvalue() == "".join(tokens[: number + 1]), number


def test_a_held_tail_is_released_by_the_next_write_flush_and_close() -> None:
    out = Recorder()
    stream = ScrubbedStream(out)
    stream.write("the key starts sk-a")  # could be the start of KEY: held
    assert out.getvalue() == "the key starts "
    stream.write("mazing")  # it was not: both go out (the new tail "g" is in no secret)
    assert out.getvalue() == "the key starts sk-amazing"
    stream.write(" sk-")
    stream.flush()
    assert out.getvalue() == "the key starts sk-amazing sk-"
    stream.write(" sk-")
    stream.close()
    assert out.closed and "".join(out.writes) == "the key starts sk-amazing sk- sk-"


def test_a_stream_with_no_secret_configured_holds_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in list(os.environ.items()):
        if value in secret_values():
            monkeypatch.delenv(name)
    assert secret_values() == []
    out = Recorder()
    stream = ScrubbedStream(out)
    for token in ("sk-", "ant", "-api03", "-Zq8"):
        stream.write(token)
        assert out.getvalue().endswith(token)


def test_closing_the_environment_writes_out_what_its_streams_held() -> None:
    out, err = io.StringIO(), io.StringIO()
    env = Environment(stdin=io.BytesIO(), stdout=out, stderr=err)
    env.stdout.write(f"answer ending in half a key {KEY[:12]}")
    env.stderr.write(f"llm: note {KEY[:5]}")
    env.close()
    assert out.getvalue() == f"answer ending in half a key {KEY[:12]}".replace(
        KEY[:12], "[redacted]"
    )
    assert err.getvalue() == f"llm: note {KEY[:5]}"

"""providers/errors.py: the secret scrubber and the one-line rule for provider messages."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from convergio_llm.providers import errors
from convergio_llm.providers.errors import ServerError, one_line, scrub

KEY = "sk-ant-CANARY-0123456789abcdefghij"


@pytest.fixture(autouse=True)
def a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)


def test_the_whole_key_is_removed() -> None:
    assert scrub(f"key {KEY} rejected") == "key [redacted] rejected"


def test_a_key_echoed_cut_short_is_removed() -> None:
    echoed = f"you sent authorization: Bearer {KEY[:26]}****"
    assert scrub(echoed) == "you sent authorization: Bearer [redacted]****"


def test_any_run_of_eight_characters_of_a_key_is_removed_at_any_offset() -> None:
    for start in range(len(KEY) - 8):
        for end in range(start + 8, len(KEY) + 1):
            text = f"x{KEY[start:end]}y"
            assert KEY[start:end] not in scrub(text), (start, end)


def test_shorter_fragments_and_ordinary_text_are_left_alone() -> None:
    text = f"the prefix {KEY[:7]} and the suffix {KEY[-7:]} are too short to tell anything"
    assert scrub(text) == text


def test_a_password_in_a_url_is_removed_the_user_and_host_are_kept() -> None:
    line = "cannot connect to http://user:S3cretPassw0rd@10.0.0.5:8000/v1 (refused)"
    assert scrub(line) == "cannot connect to http://user:[redacted]@10.0.0.5:8000/v1 (refused)"


def test_a_provider_message_is_one_line_of_bounded_length() -> None:
    error = ServerError("upstream said:\n  line one\r\n\n  line two" + "x" * 5000, "vllm")
    message = str(error)
    assert "\n" not in message and "\r" not in message
    assert message.startswith("vllm: upstream said: line one line two")
    assert len(message) <= len("vllm: ") + 400


def test_one_line_keeps_spaces_inside_a_line() -> None:
    assert one_line("server busy,  try again") == "server busy,  try again"


def test_a_secret_variable_swapped_for_another_of_the_same_count_is_still_scrubbed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The names holding secrets are cached; the cache must see a swap, not only a count.
    monkeypatch.setenv("CONVERGIO_TEST_OLD_API_KEY", "sk-old-secret-value-1234")
    assert "sk-old-secret-value-1234" not in scrub("key sk-old-secret-value-1234")
    monkeypatch.delenv("CONVERGIO_TEST_OLD_API_KEY")
    monkeypatch.setenv("CONVERGIO_TEST_NEW_API_KEY", "sk-new-secret-value-5678")
    assert scrub("key sk-new-secret-value-5678") == "key [redacted]"


# The rule _is_secret_name implements, as the pattern it replaced.
SECRET_NAME = r"(API_KEY|_TOKEN|_SECRET|PASSWORD)$|^(AZURE_OPENAI_AD_TOKEN)$"
NAME_PARTS = ["API_KEY", "_TOKEN", "_SECRET", "PASSWORD", "AZURE_OPENAI_AD_TOKEN", "KEY", "\n", "X"]


@given(st.lists(st.sampled_from(NAME_PARTS), max_size=4).map("".join))
def test_secret_names_are_those_the_pattern_names(name: str) -> None:
    assert errors._is_secret_name(name) == bool(re.search(SECRET_NAME, name))

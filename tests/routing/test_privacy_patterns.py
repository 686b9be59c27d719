"""The patterns and confirmations privacy.scan runs (routing/privacy_patterns.py)."""

from __future__ import annotations

import pytest

from convergio_llm.providers.errors import ConfigError
from convergio_llm.routing import privacy_patterns
from convergio_llm.routing.privacy_patterns import Finding, compile_patterns, secret_value


@pytest.mark.parametrize(
    "value", ["<your-key>", "${DB_PASSWORD}", "xxxx", "changeme", "os.environ['K']", "getpass()"]
)
def test_a_placeholder_or_a_call_is_not_a_secret(value: str) -> None:
    assert not secret_value(value, after_words=False)


def test_a_value_after_words_must_look_like_a_password() -> None:
    assert secret_value("hunter2!", after_words=True)
    assert not secret_value("here", after_words=True)  # letters only: a word, not a password
    assert not secret_value("https://example.org/reset1", after_words=True)
    assert secret_value("hunter", after_words=False)  # in an assignment, any value counts


def test_an_invalid_custom_pattern_is_one_config_error() -> None:
    with pytest.raises(ConfigError, match=r"privacy.patterns: invalid regex '\('"):
        compile_patterns(["ok", "("])


def test_every_gate_compiles_and_every_kind_has_a_pattern_in_the_scan() -> None:
    for name in privacy_patterns._GATE_SOURCES:
        assert privacy_patterns._compiled(name).pattern == privacy_patterns._GATE_SOURCES[name]
    scanner = privacy_patterns._scanner()
    assert set(scanner.groupindex) >= set(privacy_patterns._PATTERNS)


def test_a_finding_names_its_kind_and_span_never_the_value() -> None:
    assert Finding("email", 3, 10).to_json() == {"kind": "email", "start": 3, "end": 10}

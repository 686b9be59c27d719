"""Cost arithmetic against hand-computed figures, one case per vendor pricing shape.

Every expected value is worked out in the test from the published per-million prices
(provider-contracts.md §7), never by calling the code under test.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from convergio_llm.providers.base import Usage
from convergio_llm.providers.errors import ConfigError
from convergio_llm.providers.prices import (
    PRICE_FILE,
    cost_of,
    estimate_cost,
    price_for,
    table_version,
)
from convergio_llm.routing.config import parse_config


def usd(*terms: float) -> float:
    """Sum of tokens × $/Mtok terms, in dollars."""
    return sum(terms) / 1_000_000


def test_anthropic_cached_input_is_billed_at_the_cache_read_price() -> None:
    # 10,000 prompt tokens of which 4,000 read from cache, 1,000 out; Haiku 4.5 is $1 / $0.10 / $5.
    usage = Usage(input_tokens=10_000, output_tokens=1_000, cached_input_tokens=4_000)
    # 6,000 × $1.00 + 4,000 × $0.10 + 1,000 × $5.00 = $0.0114
    assert cost_of("anthropic", "claude-haiku-4-5", usage) == pytest.approx(0.0114)


def test_dated_snapshot_names_price_as_their_model() -> None:
    assert estimate_cost("anthropic", "claude-haiku-4-5-20251001", 1_000, 1_000) == pytest.approx(
        usd(1_000 * 1.00, 1_000 * 5.00)
    )
    assert estimate_cost("openai", "gpt-5.2-2025-12-11", 1_000_000, 0) == pytest.approx(1.75)


def test_openai_gpt4o_caches_at_half_price() -> None:
    usage = Usage(input_tokens=2_000, output_tokens=500, cached_input_tokens=1_000)
    # 1,000 × $2.50 + 1,000 × $1.25 + 500 × $10 = $0.00875
    assert cost_of("openai", "gpt-4o", usage) == pytest.approx(0.00875)


def test_a_model_without_a_cached_price_bills_cached_tokens_as_input() -> None:
    usage = Usage(input_tokens=1_000, output_tokens=0, cached_input_tokens=500)
    assert cost_of("openai", "gpt-5.2-pro", usage) == pytest.approx(usd(1_000 * 21.00))


def test_batch_halves_input_and_output() -> None:
    usage = Usage(input_tokens=1_000_000, output_tokens=100_000)
    # Sonnet 4.5: ($3.00 + 0.1 × $15.00) × 0.5 = $2.25
    assert cost_of("anthropic", "claude-sonnet-4-5", usage, batch=True) == pytest.approx(2.25)
    assert cost_of("anthropic", "claude-sonnet-4-5", usage) == pytest.approx(4.50)


def test_gemini_25_pro_long_context_tier_prices_the_whole_request() -> None:
    # At the 200K threshold: $1.25 in, $10 out. Above it: $2.50 in, $15 out for every token.
    at = estimate_cost("google", "gemini-2.5-pro", 200_000, 10_000)
    above = estimate_cost("google", "gemini-2.5-pro", 250_000, 10_000)
    assert at == pytest.approx(usd(200_000 * 1.25, 10_000 * 10.00))  # $0.35
    assert above == pytest.approx(usd(250_000 * 2.50, 10_000 * 15.00))  # $0.775


def test_long_context_cached_input_uses_the_long_cache_price() -> None:
    usage = Usage(input_tokens=300_000, output_tokens=0, cached_input_tokens=100_000)
    # 200,000 × $2.50 + 100,000 × $0.25 = $0.525
    assert cost_of("google", "gemini-2.5-pro", usage) == pytest.approx(0.525)


def test_openai_long_context_tier() -> None:
    # gpt-5.4 above 272K input: $5 in, $22.50 out.
    assert estimate_cost("openai", "gpt-5.4", 300_000, 1_000) == pytest.approx(
        usd(300_000 * 5.00, 1_000 * 22.50)
    )


def test_haiku_55_switches_tier_above_100k() -> None:
    assert estimate_cost("anthropic", "claude-haiku-5-5", 100_000, 1_000) == pytest.approx(
        usd(100_000 * 0.10, 1_000 * 0.50)
    )
    assert estimate_cost("anthropic", "claude-haiku-5-5", 100_001, 1_000) == pytest.approx(
        usd(100_001 * 0.50, 1_000 * 2.50)
    )


@pytest.mark.parametrize("provider", ["mlx", "llamacpp", "ollama", "fake"])
def test_local_engines_cost_a_real_zero(provider: str) -> None:
    cost = estimate_cost(provider, "any-model", 50_000, 5_000)
    assert cost == 0.0
    assert cost is not None


def test_openai_compatible_server_on_a_private_address_is_local() -> None:
    config = parse_config(
        "providers:\n"
        "  lab: {kind: openai, base_url: 'http://192.168.1.20:8000/v1'}\n"
        "  box: {kind: openai, base_url: 'http://gpu-box:8000/v1'}\n"
        "  loop: {kind: openai, base_url: 'http://127.0.0.1:8080/v1'}\n"
        "  hosted: {kind: openai, base_url: 'https://api.example.com/v1'}\n"
    )
    for name in ("lab", "box", "loop"):
        assert estimate_cost(name, "qwen", 1_000, 1_000, config) == 0.0
    # Someone else's server: the vendor's table does not apply, and nothing is guessed.
    assert estimate_cost("hosted", "gpt-4o", 1_000, 1_000, config) is None


def test_unknown_models_are_unknown_not_free() -> None:
    assert estimate_cost("anthropic", "claude-imaginary-9", 1_000, 1_000) is None
    assert estimate_cost("openai", "gpt-4o-2024-99-99-x", 1_000, 1_000) is None
    assert estimate_cost("azure", "my-deployment", 1_000, 1_000) is None
    assert estimate_cost("someplugin", "m", 1_000, 1_000) is None


def test_config_overrides_one_field_and_marks_the_version() -> None:
    config = parse_config('prices:\n  "anthropic:claude-haiku-4-5": {input_per_mtok: 2}\n')
    price = price_for("anthropic", "claude-haiku-4-5", config)
    assert price is not None
    assert price.cost(1_000, 1_000) == pytest.approx(usd(1_000 * 2.00, 1_000 * 5.00))
    assert price.version == f"{table_version()}+config"


def test_config_adds_prices_for_new_models_and_wildcards() -> None:
    config = parse_config(
        "providers:\n"
        "  hosted: {kind: openai, base_url: 'https://llm.example.com/v1'}\n"
        "prices:\n"
        '  "hosted:big": {input_per_mtok: 1, output_per_mtok: 2}\n'
        '  "azure:*": {input_per_mtok: 2.5, output_per_mtok: 10}\n'
        '  "fake:echo": {input_per_mtok: 1000, output_per_mtok: 0}\n'
    )
    assert estimate_cost("hosted", "big", 1_000_000, 1_000_000, config) == pytest.approx(3.0)
    assert estimate_cost("azure", "prod-4o", 1_000, 100, config) == pytest.approx(
        usd(1_000 * 2.5, 100 * 10)
    )
    # A price the user gives a local engine wins over the local zero.
    assert estimate_cost("fake", "echo", 10, 10, config) == pytest.approx(usd(10 * 1000))


def test_a_new_price_without_output_is_a_config_error() -> None:
    config = parse_config('prices:\n  "hosted:big": {input_per_mtok: 1}\n')
    with pytest.raises(ConfigError, match="output_per_mtok"):
        estimate_cost("hosted", "big", 1, 1, config)


def test_every_shipped_price_is_dated_and_sourced() -> None:
    data = yaml.safe_load(PRICE_FILE.read_text())
    assert data["version"] == "2026-11-26"
    for kind, section in data["providers"].items():
        for name, entry in section["models"].items():
            merged = {**section.get("defaults", {}), **entry}
            where = f"{kind}:{name}"
            assert merged["checked"] == "2026-11-26", where
            assert merged["source"], where
            assert isinstance(merged["vendor_page"], bool), where
            assert merged["input_per_mtok"] >= 0 and merged["output_per_mtok"] >= 0, where
    # Figures only LiteLLM gave are marked so.
    assert data["providers"]["openai"]["defaults"]["vendor_page"] is False
    assert data["providers"]["anthropic"]["defaults"]["vendor_page"] is True


def test_a_price_is_looked_up_without_yaml() -> None:
    # The shipped table comes from its parsed mirror (prices_table.py): `llm route`
    # prices a cloud target without paying for yaml at start-up.
    code = (
        "import sys, convergio_llm.providers.prices as p\n"
        "print(p.estimate_cost('anthropic', 'claude-haiku-4-5', 10**6, 0))\n"
        "print('yaml' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["1.0", "False"]

"""Configuration: defaults without a file, validation with one clear line per mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from convergio_llm.providers.errors import ConfigError
from convergio_llm.routing.config import load_config, parse_config
from tests.conftest import run_llm

GOOD = """\
profile: pro
tiers:
  simple: ollama:llama3.2:3b
  medium: anthropic:claude-haiku-4-5
budgets:
  monthly_usd: 20
  daily_usd: 2.5
  per_provider: {anthropic: {monthly_usd: 10}}
privacy:
  terms: ["Project Falcon"]
providers:
  vllm: {kind: openai, base_url: "http://gpu-box:8000/v1", api_key_env: VLLM_API_KEY}
prices:
  "vllm:my-model": {input_per_mtok: 0, output_per_mtok: 0}
"""


def test_missing_default_config_means_builtin_defaults() -> None:
    config = load_config()
    assert config.path is None
    assert config.profile == "pro"
    assert config.providers == {}


def test_a_good_file_loads(tmp_path: Path) -> None:
    config = parse_config(GOOD, tmp_path / "c.yaml")
    assert config.get("tiers.simple") == "ollama:llama3.2:3b"
    assert config.get("budgets.per_provider.anthropic.monthly_usd") == 10
    assert config.providers["vllm"]["kind"] == "openai"
    assert config.get("budgets.nothing", "dflt") == "dflt"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("profile: gold\n", "c.yaml:1: 'profile' must be one of free, pro, enterprise"),
        (
            "budgets:\n  monthly_usd: lots\n",
            "c.yaml:2: 'budgets.monthly_usd' must be a non-negative number",
        ),
        ("budgets:\n  monthly: 3\n", "c.yaml:2: unknown key 'budgets.monthly' (expected one of"),
        ("tiers:\n  simple: llama3\n", "c.yaml:2: 'tiers.simple' must be provider:model"),
        ("privacy:\n  terms: falcon\n", "c.yaml:2: 'privacy.terms' must be a list of strings"),
        ("offline: maybe\n", "c.yaml:1: 'offline' must be true or false"),
        ("- a\n- b\n", "c.yaml:1: '<top>' must be a mapping"),
        ("profile: [unclosed\n", "c.yaml:2: invalid YAML"),
        (
            "budgets:\n  monthly_usd: -1\n",
            "c.yaml:2: 'budgets.monthly_usd' must be a non-negative number",
        ),
    ],
)
def test_a_bad_file_names_file_line_key_and_expectation(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text, Path("/x/c.yaml"))
    assert str(info.value).startswith("/x/" + message)
    assert "\n" not in str(info.value)


def test_explicit_config_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")


def test_env_var_names_the_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("profile: free\n")
    monkeypatch.setenv("CONVERGIO_LLM_CONFIG", str(path))
    assert load_config().profile == "free"


def test_cli_reports_a_bad_config_in_one_line_with_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("budgets:\n  daily_usd: {}\n")
    result = run_llm("--config", str(path), "run", "-m", "fake:echo", input="hi")
    assert result.returncode == 2
    err = result.stderr.decode()
    assert err == f"llm: error: {path}:2: 'budgets.daily_usd' must be a non-negative number\n"


def test_empty_file_is_the_defaults(tmp_path: Path) -> None:
    assert parse_config("", tmp_path / "c.yaml").data == {}

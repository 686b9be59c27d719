"""Configuration: defaults without a file, validation with one clear line per mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from convergio_llm.providers.errors import ConfigError
from convergio_llm.routing.config import load_config, parse_config
from tests.conftest import run_in_process

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
    result = run_in_process("--config", str(path), "run", "-m", "fake:echo", input="hi")
    assert result.returncode == 2
    err = result.stderr.decode()
    assert err == f"llm: error: {path}:2: 'budgets.daily_usd' must be a non-negative number\n"


def test_empty_file_is_the_defaults(tmp_path: Path) -> None:
    assert parse_config("", tmp_path / "c.yaml").data == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "providers:\n  anthropic: {timeout: fast}\n",
            "c.yaml:2: 'providers.anthropic.timeout' must be a non-negative number",
        ),
        (
            "providers:\n  anthropic: 5\n",
            "c.yaml:2: 'providers.anthropic' must be a mapping of options",
        ),
        (
            "providers:\n  anthropic: {bogus: 1}\n",
            "c.yaml:2: unknown key 'providers.anthropic.bogus' (expected one of",
        ),
        (
            "providers:\n  anthropic:\n    max_retires: 1\n",
            "c.yaml:3: unknown key 'providers.anthropic.max_retires' (expected one of",
        ),
        (
            "providers:\n  vllm: {kind: opneai, base_url: 'http://h/v1'}\n",
            "c.yaml:2: 'providers.vllm' names the unknown kind 'opneai'; did you mean 'openai'?",
        ),
        (
            "providers:\n  vllm: {base_url: 'http://h/v1'}\n",
            "c.yaml:2: 'providers.vllm' names the unknown provider 'vllm'",
        ),
        (
            "tiers:\n  medium: antropic:claude-haiku-4-5\n",
            "c.yaml:2: 'tiers.medium' names the unknown provider 'antropic'; "
            "did you mean 'anthropic'?",
        ),
        (
            "providers:\n  ollama: {read_timeout: !!python/object/apply:os.system [true]}\n",
            "c.yaml:2: 'providers.ollama.read_timeout': could not determine a constructor",
        ),
        (
            "profile: !!python/object/apply:os.system ['echo pwned']\n",
            "c.yaml:1: 'profile': could not determine a constructor",
        ),
        ("budgets:\n  monthly_usd: .nan\n", "c.yaml:2: 'budgets.monthly_usd' must be a non-neg"),
        ("profil: pro\n", "c.yaml:1: unknown key 'profil' (expected one of"),
    ],
)
def test_every_key_is_checked_with_file_line_and_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text, Path("/x/c.yaml"))
    assert str(info.value).startswith("/x/" + message)
    assert "\n" not in str(info.value)


def test_unknown_keys_name_the_nearest_valid_one() -> None:
    with pytest.raises(ConfigError, match=r"did you mean 'max_retries'\?$"):
        parse_config("providers:\n  anthropic: {max_retires: 1}\n")
    with pytest.raises(ConfigError, match=r"did you mean 'profile'\?$"):
        parse_config("profil: pro\n")


def test_instances_tiers_and_options_that_exist_load() -> None:
    config = parse_config(
        "tiers: {simple: 'backup:echo', complex: 'anthropic:claude-opus-4-5'}\n"
        "providers:\n"
        "  backup: {kind: fake, ttft_s: 0.1, models: {simple: echo}}\n"
        "  ollama: {host: 'http://127.0.0.1:11434', keep_alive: 5m, read_timeout: 60}\n"
        "  anthropic: {timeout: 30, max_retries: 0, base_url: 'http://127.0.0.1:9'}\n"
    )
    assert config.providers["backup"]["ttft_s"] == 0.1
    assert config.providers["ollama"]["keep_alive"] == "5m"


@pytest.mark.parametrize(
    "args",
    [
        ("route", "-m", "fake:echo", "hi"),
        ("run", "-m", "fake:echo", "hi"),
        ("models", "--offline"),
        ("cost",),
        ("cost", "--by-verdict"),
        ("logs",),
        ("bench", "-m", "fake:echo"),
    ],
    ids=lambda args: " ".join(args[:2]),
)
def test_every_command_refuses_a_bad_config_the_same_way(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    # Even a command that reads no setting (logs, the audit) says the config is broken,
    # so a mistake is found by whichever command runs first.
    path = tmp_path / "c.yaml"
    path.write_text("providers:\n  mine: {kind: fakee}\n")
    result = run_in_process("--config", str(path), *args)
    assert result.returncode == 2
    assert result.stdout == b""
    assert result.stderr.decode() == (
        f"llm: error: {path}:2: 'providers.mine' names the unknown kind 'fakee'; "
        "did you mean 'fake'?\n"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "budgets:\n  per_provider:\n    opanai: {monthly_usd: 1}\n",
            "c.yaml:3: 'budgets.per_provider.opanai' names the unknown provider 'opanai'; "
            "did you mean 'openai'?",
        ),
        (
            "routing:\n  cloud_preference:\n    - anthropic\n    - gogle\n",
            "c.yaml:4: 'routing.cloud_preference' names the unknown provider 'gogle'; "
            "did you mean 'google'?",
        ),
    ],
)
def test_provider_names_in_budgets_and_preferences_are_checked(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text, Path("/x/c.yaml"))
    assert str(info.value) == "/x/" + message

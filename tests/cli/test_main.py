"""The app's wiring, in-process: usage errors, help, version, the sub-commands and flags
whose bodies live elsewhere, and the symptoms issue 12 lists for the CLI."""

from __future__ import annotations

import io
import json
import sys
import types
from collections.abc import Callable
from typing import Any

import pytest

from convergio_llm.cli.context import Environment
from tests.conftest import CANARY, llm


def test_bare_llm_prints_the_help_and_exits_2() -> None:
    result = llm()
    assert result.code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("Usage: llm [OPTIONS] COMMAND [ARGS]...")
    assert "route" in result.stderr and "bench" in result.stderr


def test_a_usage_error_is_one_line_naming_the_help_to_read() -> None:
    result = llm("route", "--no-such-flag")
    assert result.code == 2
    assert result.stderr == "llm: error: No such option: --no-such-flag (see 'llm route --help')\n"


def test_an_unknown_command_is_a_usage_error() -> None:
    result = llm("rout")
    assert result.code == 2
    assert result.stderr.startswith("llm: error: No such command 'rout'")
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_help_is_printed_to_stdout(flag: str) -> None:
    result = llm("run", flag)
    assert result.code == 0
    assert result.stdout.startswith("Usage: llm run [OPTIONS] [PROMPT]")
    assert "--concurrency N" in result.stdout and "--no-cooldown" in result.stdout


def test_version() -> None:
    assert llm("--version") == (0, "convergio-llm 0.1.0\n", "")


def test_config_option_and_env_variable_name_the_file(tmp_path: Any) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("tiers: {simple: 'fake:echo'}\n")
    for args, env in (
        (("--config", str(path), "route"), {}),
        (("route",), {"CONVERGIO_LLM_CONFIG": str(path)}),
    ):
        result = llm(*args, stdin="hi", env=env)
        assert result.code == 0, result.stderr
        assert json.loads(result.stdout)["provider"] == "fake"


def test_route_takes_a_prompt_that_is_literally_eval_from_stdin() -> None:
    result = llm("route", "--offline", stdin="eval")
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["request"]["messages"][0]["content"] == "eval"


def body(monkeypatch: pytest.MonkeyPatch, module: str, name: str) -> list[Any]:
    """Stand in for a command body that another branch provides; record its calls."""
    calls: list[Any] = []

    def record(env: Environment, *args: Any, **kwargs: Any) -> int:
        calls.append((env, args, kwargs))
        env.stdout.write("body ran\n")
        return 0

    stand_in = types.ModuleType(f"convergio_llm.cli.{module}")
    setattr(stand_in, name, record)
    monkeypatch.setitem(sys.modules, stand_in.__name__, stand_in)
    return calls


def test_route_eval_passes_its_options_to_the_body(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = body(monkeypatch, "route_eval", "eval_command")
    args = ("route", "eval", "set.jsonl", "--split", "dev", "--json", "--plot", "p.png")
    result = llm(*args, "--by", "label", "--resamples", "50", "--router", "heuristic")
    assert result == (0, "body ran\n", "")
    [(env, positional, keywords)] = calls
    assert isinstance(env, Environment)
    assert positional == ("set.jsonl",)
    assert keywords == {
        "split": "dev",
        "json_out": True,
        "plot": "p.png",
        "by": "label",
        "resamples": 50,
        "router": "heuristic",
    }
    assert llm("route", "eval", "set.jsonl").code == 0
    assert calls[-1][2]["resamples"] == 1000  # the defaults
    assert calls[-1][2]["router"] is None
    result = llm("route", "eval", "set.jsonl", "--resamples", "-1")
    assert result.code == 2 and "--resamples" in result.stderr


def test_route_eval_needs_a_file_and_says_whose_help_to_read() -> None:
    result = llm("route", "eval")
    assert result.code == 2
    assert "(see 'llm route eval --help')" in result.stderr


def test_route_calibrate_passes_its_options_to_the_body(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = body(monkeypatch, "route_calibrate", "calibrate_command")
    result = llm("route", "calibrate", "--cloud-share", "0.2", "--target", "openai:gpt-5")
    assert result.code == 0, result.stderr
    [(_, positional, keywords)] = calls
    assert positional == (None,)
    assert keywords == {
        "cloud_share": "0.2",
        "quality": None,
        "target": "openai:gpt-5",
        "from_ledger": False,
        "write": False,
        "json_out": False,
    }
    result = llm("route", "calibrate", "set.jsonl", "--quality", "0.9", "--from-ledger", "--write")
    assert calls[1][1] == ("set.jsonl",)
    assert calls[1][2]["quality"] == "0.9" and calls[1][2]["from_ledger"] and calls[1][2]["write"]


def test_route_calibrate_refuses_a_share_outside_0_1() -> None:
    result = llm("route", "calibrate", "--cloud-share", "1.5")
    assert result.code == 2
    assert "--cloud-share" in result.stderr and len(result.stderr.splitlines()) == 1


def test_cost_by_verdict_runs_the_audit(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = body(monkeypatch, "cost_audit", "audit_command")
    result = llm("cost", "--by-verdict", "--since", "2026-01-01", "--json")
    assert result == (0, "body ran\n", "")
    [(_, positional, keywords)] = calls
    assert positional == ()
    assert keywords == {"since": "2026-01-01", "until": None, "json_out": True}


def capture_run_options(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    from convergio_llm.cli import run_impl

    seen: list[Any] = []
    real: Callable[..., int] = run_impl.run_command

    def spy(env: Environment, options: Any) -> int:
        seen.append(options)
        return real(env, options)

    monkeypatch.setattr(run_impl, "run_command", spy)
    return seen


def test_run_concurrency_and_cooldown_reach_the_run_options(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen = capture_run_options(monkeypatch)
    assert llm("run", "-m", "fake:echo", "hi").stdout == "hi\n"
    assert llm("run", "-m", "fake:echo", "--concurrency", "4", "--no-cooldown", "hi").code == 0
    assert [(o.concurrency, o.use_cooldown) for o in seen] == [(1, True), (4, False)]


def test_conversation_file_and_batch_flags_reach_the_run_options(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen = capture_run_options(monkeypatch)
    llm("run", "-m", "fake:echo", "hi")
    flags = ("-c", "--cid", "c1", "--no-log", "--schema", '{"type": "object"}')
    files = ("-f", "a.txt", "--file", "b.txt", "-a", "x.png", "--attach", "y.pdf")
    batch = ("--batch", "--batch-status", "b1", "--batch-results", "b2")
    llm("run", "-m", "fake:echo", *flags, *files, *batch, "hi")
    fields = (
        "continue_last", "cid", "use_log", "schema", "files", "attachments",
        "batch", "batch_status", "batch_results",
    )  # fmt: skip
    default, given = ({f: getattr(o, f) for f in fields} for o in seen)
    assert default == {
        "continue_last": False, "cid": None, "use_log": True, "schema": None, "files": (),
        "attachments": (), "batch": False, "batch_status": None, "batch_results": None,
    }  # fmt: skip
    assert given == {
        "continue_last": True, "cid": "c1", "use_log": False, "schema": '{"type": "object"}',
        "files": ("a.txt", "b.txt"), "attachments": ("x.png", "y.pdf"),
        "batch": True, "batch_status": "b1", "batch_results": "b2",
    }  # fmt: skip


def test_logs_passes_its_options_to_the_body(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = body(monkeypatch, "logs_impl", "logs_command")
    assert llm("logs").code == 0
    assert llm("logs", "c42", "--json", "-n", "3") == (0, "body ran\n", "")
    assert [(c[1], c[2]) for c in calls] == [
        ((None,), {"json_out": False, "limit": 20}),
        (("c42",), {"json_out": True, "limit": 3}),
    ]


def test_run_concurrency_must_be_at_least_1() -> None:
    result = llm("run", "-m", "fake:echo", "--concurrency", "0", "hi")
    assert result.code == 2
    assert "--concurrency" in result.stderr and len(result.stderr.splitlines()) == 1


def test_models_takes_a_comma_separated_provider_list_like_bench() -> None:
    comma = llm("models", "--offline", "--json", "-p", "fake,llamacpp")
    repeated = llm("models", "--offline", "--json", "-p", "fake", "-p", "llamacpp")
    assert comma.code == 0, comma.stderr
    providers = {row["provider"] for row in json.loads(comma.stdout)}
    assert providers == {"fake", "llamacpp"}
    assert comma.stdout == repeated.stdout


def test_a_missing_key_exits_6_with_the_same_hint_in_run_and_bench() -> None:
    env = {"ANTHROPIC_API_KEY": "", "ANTHROPIC_AUTH_TOKEN": ""}
    hint = "no API key: set ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN"
    ran = llm("run", "-m", "anthropic:claude-haiku-4-5", "hi", env=env)
    benched = llm("bench", "-p", "anthropic", "-n", "1", env=env)
    assert (ran.code, benched.code) == (6, 6)
    assert hint in ran.stderr and hint in benched.stderr


def test_secrets_are_scrubbed_at_the_environments_streams() -> None:
    out, err = io.StringIO(), io.StringIO()
    env = Environment(stdout=out, stderr=err)
    env.stdout.write(f"key={CANARY}\n")
    env.warn(f"failed with {CANARY}")
    assert out.getvalue() == "key=[redacted]\n"
    assert err.getvalue() == "llm: failed with [redacted]\n"


def test_an_answer_that_echoes_a_key_is_scrubbed_on_stdout() -> None:
    result = llm("run", "-m", "fake:echo", f"repeat {CANARY}")
    assert result == (0, "repeat [redacted]\n", "")

"""The pipe contract through the real `llm` entry point: stdin in, stdout out, stderr apart."""

from __future__ import annotations

import json

from tests.conftest import assert_no_canary, run_llm


def test_text_mode_streams_only_the_answer_to_stdout() -> None:
    result = run_llm("run", "-m", "fake:echo", input="hello pipe world")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"hello pipe world\n"
    assert result.stderr == b""


def test_positional_prompt_beats_stdin() -> None:
    result = run_llm("run", "-m", "fake:echo", "from the argument", input="from stdin")
    assert result.stdout == b"from the argument\n"


def test_json_output_is_one_completion_object() -> None:
    result = run_llm("run", "-m", "fake:lorem", "--max-tokens", "3", "--json", input="x")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode().splitlines()
    assert len(lines) == 1
    obj = json.loads(lines[0])
    assert obj["schema"] == "convergio-llm/completion/v1"
    assert obj["text"] == "lorem ipsum dolor"
    assert obj["finish_reason"] == "length"
    assert obj["usage"]["output_tokens"] == 3
    assert obj["usage"]["source"] == "provider"
    assert obj["provider"] == "fake" and obj["model"] == "lorem"
    assert obj["timings"]["ttft_s"] is not None
    assert obj["timings"]["total_s"] >= obj["timings"]["ttft_s"]
    assert [a["outcome"] for a in obj["attempts"]] == ["ok"]


def test_jsonl_keeps_order_ids_and_reports_bad_lines_by_number() -> None:
    lines = [
        json.dumps({"prompt": "first one", "id": "q1"}),
        "{not json",
        "",
        json.dumps({"messages": [{"role": "user", "content": "third"}]}),
        json.dumps({"prompt": ""}),
        json.dumps({"prompt": "last", "id": 7}),
    ]
    result = run_llm("run", "-m", "fake:echo", "--jsonl", input="\n".join(lines) + "\n")
    assert result.returncode == 2
    out = [json.loads(x) for x in result.stdout.decode().splitlines()]
    assert [o["id"] for o in out] == ["q1", "2", "4", "5", "7"]
    assert out[0]["text"] == "first one"
    assert out[1]["error"]["type"] == "InputError" and out[1]["line"] == 2
    assert out[2]["text"] == "third"
    assert out[3]["error"]["exit_code"] == 2
    assert out[4]["text"] == "last"
    stderr = result.stderr.decode()
    assert "line 2:" in stderr and "line 5:" in stderr
    assert "Traceback" not in stderr


def test_system_prompt_and_parameters_apply_to_jsonl_lines_without_them() -> None:
    line = json.dumps({"prompt": "a b c d e f"})
    result = run_llm("run", "-m", "fake:echo", "--jsonl", "--max-tokens", "2", input=line)
    assert json.loads(result.stdout)["text"] == "a b"


def test_a_json_object_meant_as_input_is_the_prompt_text_with_a_note() -> None:
    # The contract: without --jsonl, stdin that is not a decision is one prompt, as it is.
    # A request or a decision missing its "schema" was surely meant otherwise: say so.
    cases = {
        '{"prompt": "hi"}': "without --jsonl its text is the prompt",
        '{"provider": "openai", "model": "gpt-5", "request": {}}': 'has no "schema"',
    }
    for text, note in cases.items():
        result = run_llm("run", "-m", "fake:echo", input=text + "\n")
        assert result.returncode == 0, result.stderr
        assert result.stdout.decode() == text + "\n"  # echoed: the text was the prompt
        assert note in result.stderr.decode()
    # JSON that is simply the prompt's subject gets no note.
    result = run_llm("run", "-m", "fake:echo", input='{"a": [1, 2]}\n')
    assert result.stdout == b'{"a": [1, 2]}\n' and result.stderr == b""


def test_empty_stdin_is_a_usage_error() -> None:
    result = run_llm("run", "-m", "fake:echo", input=b"  \n")
    assert result.returncode == 2
    assert result.stdout == b""
    assert result.stderr.decode().strip() == "llm: error: stdin is empty: nothing to send"


def test_invalid_utf8_is_a_usage_error_naming_the_byte() -> None:
    result = run_llm("run", "-m", "fake:echo", input=b"caf\xe9 au lait")
    assert result.returncode == 2
    assert b"not valid UTF-8 (byte 3)" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_unknown_provider_and_model_are_usage_errors() -> None:
    unknown = run_llm("run", "-m", "nosuch:model", input="hi")
    assert unknown.returncode == 2
    assert b"unknown provider 'nosuch'" in unknown.stderr
    missing = run_llm("run", "-m", "fake:nosuch", input="hi")
    assert missing.returncode == 2
    assert b"model 'nosuch' not found" in missing.stderr
    for r in (unknown, missing):
        assert len(r.stderr.splitlines()) == 1 and b"Traceback" not in r.stderr


def test_failure_after_first_token_exits_5_and_keeps_what_was_written() -> None:
    result = run_llm("run", "-m", "fake:break", input="x")
    assert result.returncode == 5
    assert result.stdout == b"lorem\n"
    assert b"stops after one word" in result.stderr


def test_unavailable_provider_exits_3() -> None:
    result = run_llm("run", "-m", "fake:fail", input="x")
    assert result.returncode == 3
    assert result.stderr.decode().startswith("llm: error: fake: the fake 'fail' model always fails")


def test_a_decision_on_stdin_is_executed_with_its_fallbacks() -> None:
    decision = {
        "schema": "convergio-llm/decision/v1",
        "request": {"messages": [{"role": "user", "content": "routed prompt"}]},
        "provider": "fake",
        "model": "fail",
        "fallbacks": [{"provider": "fake", "model": "echo"}],
        "trace": [],
    }
    result = run_llm("run", "--json", input=json.dumps(decision))
    assert result.returncode == 0, result.stderr
    obj = json.loads(result.stdout)
    assert obj["text"] == "routed prompt"
    assert [(a["model"], a["outcome"]) for a in obj["attempts"]] == [
        ("fail", "error"),
        ("echo", "ok"),
    ]
    assert b"fake:fail failed" in result.stderr and b"trying fake:echo" in result.stderr


def test_decision_lines_are_executed_in_order() -> None:
    def decision(text: str, i: int) -> str:
        return json.dumps(
            {
                "schema": "convergio-llm/decision/v1",
                "id": f"d{i}",
                "request": {"messages": [{"role": "user", "content": text}]},
                "provider": "fake",
                "model": "echo",
            }
        )

    stdin = "\n".join(decision(t, i) for i, t in enumerate(["one", "two", "three"]))
    result = run_llm("run", "--jsonl", input=stdin)
    out = [json.loads(x) for x in result.stdout.decode().splitlines()]
    assert [(o["id"], o["text"]) for o in out] == [("d0", "one"), ("d1", "two"), ("d2", "three")]


def test_all_fallbacks_failing_exits_with_the_shared_status_and_lists_attempts() -> None:
    decision = {
        "schema": "convergio-llm/decision/v1",
        "request": {"messages": [{"role": "user", "content": "x"}]},
        "provider": "fake",
        "model": "fail",
        "fallbacks": [{"provider": "nosuch", "model": "m"}],
    }
    result = run_llm("run", "--json", input=json.dumps(decision))
    assert result.returncode == 5  # unavailable (3) + unknown provider (2) differ → 5
    obj = json.loads(result.stdout)
    assert obj["error"]["type"] == "ExecutionFailed"
    assert [a["provider"] for a in obj["attempts"]] == ["fake", "nosuch"]


def test_no_secret_reaches_any_stream() -> None:
    result = run_llm("run", "-m", "fake:echo", "--json", input="hello")
    assert_no_canary(result.stdout, result.stderr)


def test_help_and_version() -> None:
    result = run_llm("--help")
    assert result.returncode == 0
    for command in (b"route", b"run", b"models", b"cost", b"bench"):
        assert command in result.stdout
    version = run_llm("--version")
    assert version.stdout.startswith(b"convergio-llm ")


def test_bad_option_is_exit_2() -> None:
    result = run_llm("run", "--max-tokens", "0", input="x")
    assert result.returncode == 2

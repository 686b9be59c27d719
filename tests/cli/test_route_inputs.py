"""`llm route -a IMG --schema S "..." | llm run`: the decision carries the image and the
schema to `llm run`, which sends them as routed; and `llm route` routes for them."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import llm
from tests.servers.openai import OpenAIServer, openai_server  # noqa: F401  (a fixture)

SCHEMA = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(32))


@pytest.fixture
def image(tmp_path: Path) -> Path:
    path = tmp_path / "dot.png"
    path.write_bytes(PNG)
    return path


def last_chat(server: OpenAIServer) -> dict[str, Any]:
    posts = [r for r in server.requests if r.path.endswith("/chat/completions")]
    return posts[-1].json()  # type: ignore[no-any-return]


def routed(image: Path, *extra: str) -> dict[str, Any]:
    result = llm(
        "route", "-m", "openai:gpt-4o-mini", "-a", str(image), "--schema", json.dumps(SCHEMA),
        *extra, "what is this?",
    )  # fmt: skip
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_the_pipe_carries_image_and_schema_to_the_wire(
    openai_server: OpenAIServer,  # noqa: F811
    image: Path,
) -> None:
    decision = routed(image)
    assert decision["request"]["json_schema"] == SCHEMA
    openai_server.reply = '{"n": 7}'
    result = llm("run", "--no-log", stdin=json.dumps(decision) + "\n")
    assert (result.code, result.stdout) == (0, '{"n": 7}\n'), result.stderr
    body = last_chat(openai_server)
    assert body["response_format"]["json_schema"]["schema"] == SCHEMA
    parts = body["messages"][-1]["content"]
    assert parts[0] == {"type": "text", "text": "what is this?"}
    url = f"data:image/png;base64,{base64.b64encode(PNG).decode()}"
    assert parts[1]["image_url"]["url"] == url


def test_an_edited_image_in_a_decision_is_refused(
    openai_server: OpenAIServer,  # noqa: F811
    image: Path,
) -> None:
    decision = routed(image)
    other = b"\x89PNG\r\n\x1a\n" + bytes(32)
    decision["request"]["attachments"][0]["data"] = base64.b64encode(other).decode()
    result = llm("run", "--no-log", stdin=json.dumps(decision) + "\n")
    assert result.code == 2
    assert "does not match its sha256" in result.stderr and result.stderr.count("\n") == 1
    assert not [r for r in openai_server.requests if r.method == "POST"]  # nothing sent


def test_an_invalid_schema_in_a_decision_is_refused(image: Path) -> None:
    decision = routed(image)
    decision["request"]["json_schema"] = {"type": 12}
    result = llm("run", "--no-log", stdin=json.dumps(decision) + "\n")
    assert result.code == 2
    assert "'json_schema' is not a valid JSON Schema" in result.stderr


def test_route_skips_the_model_that_cannot_take_the_image(image: Path) -> None:
    result = llm("route", "--online", "--complexity", "simple", "-a", str(image), "what is it?")
    assert result.code == 0, result.stderr
    decision = json.loads(result.stdout)
    assert decision["provider"] != "llamacpp"
    [entry] = [t for t in decision["trace"] if t["rule"] == "capabilities"]
    assert "no vision" in entry["looked_at"]["skipped"]["llamacpp:gemma-3-270m"]
    rules = [t["rule"] for t in decision["trace"]]
    assert rules.index("capabilities") == rules.index("complexity") - 1


def test_route_puts_file_text_in_the_prompt(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("the launch moved to Friday\n")
    result = llm("route", "--online", "-f", str(notes), "when is the launch?")
    assert result.code == 0, result.stderr
    [turn] = json.loads(result.stdout)["request"]["messages"]
    assert "the launch moved to Friday" in turn["content"]
    assert turn["content"].endswith("when is the launch?")


def test_route_with_a_missing_file_is_one_line_exit_2(tmp_path: Path) -> None:
    result = llm("route", "-a", str(tmp_path / "nope.png"), "what is it?")
    assert result.code == 2
    assert "no such file" in result.stderr and result.stderr.count("\n") == 1

"""`--schema` and `-a` on every backend with a wire double: each API's native field reaches
the wire, the answer is checked, and the image travels in each API's own format.
In-process (`run_command`), with the real SDKs against the doubles."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from convergio_llm.cli.context import Environment
from convergio_llm.cli.run_impl import RunOptions, run_command
from convergio_llm.routing.decide import Policy
from tests.conftest import assert_no_canary
from tests.providers.test_every_provider import BACKENDS, Backend
from tests.servers.base import LoopbackServer

SCHEMA = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
# The smallest PNG: the signature and an IHDR chunk are all the sniffing looks at.
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(32))
B64 = base64.b64encode(PNG).decode()


def script(double: Any, text: str) -> None:
    """Make the double answer `text` (in two streamed pieces)."""
    first, _, rest = text.partition(" ")
    if isinstance(getattr(double, "reply", None), str):
        double.reply = text
    else:
        double.reply.pieces = [first, " " + rest] if rest else [first]


class Wire:
    def __init__(self, backend: Backend, double: LoopbackServer, config: Path) -> None:
        self.backend, self.double, self.config = backend, double, config

    def run(self, **options: Any) -> tuple[int, str, str]:
        env = Environment(
            stdin=io.BytesIO(b""),
            stdout=io.StringIO(),
            stderr=io.StringIO(),
            config_path=str(self.config),
        )
        ref = f"{self.backend.name}:{self.backend.model}"
        options.setdefault("prompt", "pick a number")
        try:
            status = run_command(
                env, RunOptions(policy=Policy(model=ref), use_log=False, **options)
            )
        finally:
            env.close()  # the SDK clients and their sockets, as the CLI closes them
        out, err = env.stdout.getvalue(), env.stderr.getvalue()  # type: ignore[attr-defined]
        assert_no_canary(out, err)
        return status, out, err

    def body(self) -> dict[str, Any]:
        posts = [r for r in self.double.requests if r.method == "POST"]
        return posts[-1].json()  # type: ignore[no-any-return]


@pytest.fixture(params=BACKENDS, ids=[b.name for b in BACKENDS])
def wire(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Wire]:
    spec: Backend = request.param
    with spec.make() as double:
        if spec.name == "ollama":
            monkeypatch.setenv("OLLAMA_HOST", double.url)
        config = tmp_path / "config.yaml"
        settings = {**spec.settings(double), "max_retries": 0}
        config.write_text(yaml.safe_dump({"providers": {spec.name: settings}}))
        yield Wire(spec, double, config)


def schema_on_the_wire(name: str, body: dict[str, Any]) -> Any:
    if name in ("openai", "azure"):
        assert body["response_format"]["type"] == "json_schema"
        return body["response_format"]["json_schema"]["schema"]
    if name == "anthropic":
        return body["output_config"]["format"]["schema"]
    if name == "google":
        assert body["generationConfig"]["responseMimeType"] == "application/json"
        return body["generationConfig"]["responseJsonSchema"]
    assert name == "ollama"
    return body["format"]


def image_on_the_wire(name: str, body: dict[str, Any]) -> tuple[str, str]:
    """(media type, base64 data) of the one image in the last user turn."""
    if name in ("openai", "azure"):
        parts = body["messages"][-1]["content"]
        assert parts[0] == {"type": "text", "text": "what is this?"}
        url = parts[1]["image_url"]["url"]
        head, _, data = url.partition(",")
        return head.removeprefix("data:").removesuffix(";base64"), data
    if name == "anthropic":
        block = body["messages"][-1]["content"][0]
        assert body["messages"][-1]["content"][1] == {"type": "text", "text": "what is this?"}
        return block["source"]["media_type"], block["source"]["data"]
    if name == "google":
        parts = body["contents"][-1]["parts"]
        assert parts[0]["text"] == "what is this?"
        inline = parts[1]["inlineData"]
        # google-genai writes mime_type; the API reads either spelling (proto JSON).
        return inline.get("mimeType", inline.get("mime_type")), inline["data"]
    assert name == "ollama"
    turn = body["messages"][-1]
    assert turn["content"] == "what is this?"
    return "image/png", turn["images"][0]


def test_schema_goes_native_and_the_answer_is_checked(wire: Wire) -> None:
    script(wire.double, '{"n": 7}')
    status, out, err = wire.run(schema=json.dumps(SCHEMA), json_out=True)
    assert status == 0, err
    assert schema_on_the_wire(wire.backend.name, wire.body()) == SCHEMA
    answer = json.loads(out)
    assert answer["parsed"] == {"n": 7}


def test_text_mode_prints_the_json(wire: Wire) -> None:
    script(wire.double, '{"n": 7}')
    status, out, err = wire.run(schema=json.dumps(SCHEMA))
    assert (status, out) == (0, '{"n": 7}\n'), err


@pytest.mark.parametrize(
    ("answer", "reason"),
    [("a number", "not JSON"), ('{"n": "seven"}', "'seven' is not of type 'integer' (at n)")],
)
def test_an_answer_that_does_not_match_is_exit_1_with_the_reason(
    wire: Wire, answer: str, reason: str
) -> None:
    script(wire.double, answer)
    status, out, err = wire.run(schema=json.dumps(SCHEMA))
    assert status == 1
    assert out == ""  # never passed on as valid
    assert reason in err and err.count("\n") == 1


def test_an_image_reaches_the_wire_in_the_apis_format(wire: Wire, tmp_path: Path) -> None:
    image = tmp_path / "dot.png"
    image.write_bytes(PNG)
    if wire.backend.name == "ollama":  # a vision model, as /api/show says (else it is skipped)
        wire.double.vision_models.add(wire.backend.model)  # type: ignore[attr-defined]
    status, _, err = wire.run(prompt="what is this?", attachments=(str(image),))
    assert status == 0, err
    assert image_on_the_wire(wire.backend.name, wire.body()) == ("image/png", B64)


def test_an_image_to_a_text_only_ollama_model_is_refused_before_sending(
    ollama_wire: Wire, tmp_path: Path
) -> None:
    image = tmp_path / "dot.png"
    image.write_bytes(PNG)
    status, out, err = ollama_wire.run(prompt="what is this?", attachments=(str(image),))
    assert (status, out) == (3, "")
    assert "no vision" in err and err.count("\n") == 1
    assert not [r for r in ollama_wire.double.requests if r.path == "/api/chat"]


@pytest.fixture
def ollama_wire(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Wire]:
    [spec] = [b for b in BACKENDS if b.name == "ollama"]
    with spec.make() as double:
        monkeypatch.setenv("OLLAMA_HOST", double.url)
        config = tmp_path / "config.yaml"
        config.write_text(yaml.safe_dump({"providers": {"ollama": spec.settings(double)}}))
        yield Wire(spec, double, config)

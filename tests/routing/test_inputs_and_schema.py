"""-f, -a and --schema input handling: what is read, what is refused, and how it is said."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from convergio_llm.providers.errors import InputError
from convergio_llm.providers.values import Request
from convergio_llm.routing.inputs import read_files, read_images, sniff_image, with_inputs
from convergio_llm.routing.schema import SchemaMismatch, load_schema, validated

SCHEMA = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 16
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 8
GIF = b"GIF89a" + b"\x00" * 16


@pytest.mark.parametrize(
    ("head", "media_type"),
    [(PNG, "image/png"), (JPEG, "image/jpeg"), (WEBP, "image/webp"), (GIF, None), (b"", None)],
)
def test_images_are_known_by_their_first_bytes(head: bytes, media_type: str | None) -> None:
    assert sniff_image(head) == media_type


def test_files_and_a_directorys_text_files_join_the_last_user_turn(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("alpha\n")
    folder = tmp_path / "src"
    (folder / ".git").mkdir(parents=True)
    (folder / ".git" / "HEAD").write_text("ref: hidden\n")
    (folder / "b.py").write_text("print('b')\n")
    (folder / "a.md").write_text("# a\n")
    (folder / "logo.png").write_bytes(PNG)  # a binary inside a directory is passed over
    request = with_inputs(
        Request.from_prompt("summarise", system="be brief"),
        [str(tmp_path / "notes.txt"), str(folder)],
        (),
        None,
    )
    assert request.messages[0].content == "be brief"
    assert request.messages[1].content == (
        f"--- {tmp_path / 'notes.txt'} ---\nalpha\n\n"
        f"--- {folder / 'a.md'} ---\n# a\n\n"
        f"--- {folder / 'b.py'} ---\nprint('b')\n\nsummarise"
    )


def test_file_text_is_scanned_for_privacy_like_the_prompt(tmp_path: Path) -> None:
    from convergio_llm.routing.decide import Policy, decide
    from tests.routing.conftest import make_context

    secret = tmp_path / "contact.txt"
    secret.write_text("write to maria.rossi@example.org\n")
    request = with_inputs(Request.from_prompt("Compare two revolutions."), [str(secret)], (), None)
    decision = decide(request, make_context(), Policy(complexity="complex"))
    assert decision.local_only and decision.reason == "privacy: email in prompt"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.txt", None, "-f {path}: no such file or directory"),
        ("big.log", b"x" * (50 << 20), "-f {path}: 50.0 MiB, over the 1 MiB limit"),
        ("blob.bin", b"\x00\x01\x02binary", "-f {path}: not a text file (binary)"),
        ("pic.png", PNG, "-f {path}: not a text file (an image: attach it with -a)"),
    ],
)
def test_bad_files_are_refused_in_one_line(
    tmp_path: Path, name: str, content: bytes | None, message: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError) as caught:
        read_files([str(path)])
    assert str(caught.value) == message.format(path=path)


def test_images_are_attached_with_their_type(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(JPEG)
    (tmp_path / "b").write_bytes(WEBP)  # no extension needed
    images = read_images([str(tmp_path / "a.jpg"), str(tmp_path / "b")])
    assert [(i.media_type, i.data, i.name) for i in images] == [
        ("image/jpeg", JPEG, "a.jpg"),
        ("image/webp", WEBP, "b"),
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (GIF, "-a {path}: not a PNG, JPEG or WebP image"),
        (b"plain words\n", "-a {path}: not a PNG, JPEG or WebP image; add text files with -f"),
    ],
)
def test_a_binary_that_is_not_an_image_is_refused(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "thing"
    path.write_bytes(content)
    with pytest.raises(InputError) as caught:
        read_images([str(path)])
    assert str(caught.value) == message.format(path=path)


def test_schema_inline_or_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(SCHEMA))
    assert load_schema(json.dumps(SCHEMA)) == SCHEMA
    assert load_schema(str(path)) == SCHEMA


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ('{"type": "object",', "--schema is not valid JSON"),
        ('{"type": "objekt"}', "--schema is not a valid JSON Schema: 'objekt' is not valid"),
        (
            '{"properties": {"n": {"minimum": "3"}}}',
            "--schema is not a valid JSON Schema: '3' is not of type 'number' "
            "(at properties/n/minimum)",
        ),
        ("no/such/schema.json", "--schema: no such file: no/such/schema.json"),
    ],
)
def test_a_bad_schema_is_a_usage_error(given: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        load_schema(given)
    assert str(caught.value).startswith(message)


def test_answers_are_checked_against_the_schema() -> None:
    assert validated('{"n": 3}', SCHEMA) == {"n": 3}
    with pytest.raises(SchemaMismatch, match=r"'n' is a required property \(at the top level\)"):
        validated("{}", SCHEMA)
    with pytest.raises(SchemaMismatch, match="not JSON"):
        validated("three", SCHEMA)

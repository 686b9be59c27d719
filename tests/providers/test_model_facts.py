"""Local models report their own limits: the GGUF header for llama.cpp (the real embedded
file), `/api/show` for Ollama (the loopback double, answering as Ollama does)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from convergio_llm.providers.capabilities import capabilities
from convergio_llm.providers.gguf_header import NotGGUF, read_metadata
from convergio_llm.providers.llamacpp import GgufFacts, LlamaCppProvider, model_facts
from convergio_llm.providers.ollama import OllamaProvider
from tests.servers.ollama import OllamaServer


def _string(text: str) -> bytes:
    data = text.encode()
    return struct.pack("<Q", len(data)) + data


def write_gguf(path: Path, context_length: int, template: str | None) -> Path:
    """A GGUF v3 header as llama.cpp's writer lays it out (no tensors): an architecture, its
    context length, a vocabulary array, and perhaps a chat template."""
    pairs = [
        _string("general.architecture") + struct.pack("<I", 8) + _string("llama"),
        _string("llama.context_length") + struct.pack("<II", 4, context_length),
        _string("tokenizer.ggml.tokens")
        + struct.pack("<IIQ", 9, 8, 3)
        + b"".join(_string(t) for t in ("<s>", "a", "b")),
        _string("tokenizer.ggml.scores") + struct.pack("<IIQ", 9, 6, 2) + struct.pack("<ff", 0, 1),
    ]
    if template is not None:
        pairs.append(_string("tokenizer.chat_template") + struct.pack("<I", 8) + _string(template))
    head = b"GGUF" + struct.pack("<IQQ", 3, 0, len(pairs))
    path.write_bytes(head + b"".join(pairs))
    return path


def test_the_embedded_gguf_says_its_window_and_that_it_is_a_base_model(
    gemma_gguf: Path,
) -> None:
    metadata = read_metadata(gemma_gguf)
    assert metadata["general.architecture"] == "gemma3"
    assert "tokenizer.ggml.tokens" not in metadata  # arrays passed over, not kept
    assert model_facts(str(gemma_gguf)) == GgufFacts(32768, False)


def test_the_window_is_n_ctx_capped_by_what_the_model_was_trained_for(gemma_gguf: Path) -> None:
    model = str(gemma_gguf)
    assert capabilities("llamacpp", model, {"n_ctx": 2048}).context_window == 2048
    assert capabilities("llamacpp", model, {"n_ctx": 65536}).context_window == 32768


def test_llm_models_shows_the_gguf_window_and_base_model(gemma_gguf: Path) -> None:
    provider = LlamaCppProvider(settings={"n_ctx": 65536, "models": {"simple": str(gemma_gguf)}})
    [info] = [i for i in provider.models() if i.name == str(gemma_gguf)]
    assert info.context_window == 32768
    assert info.details["base_model"] is True


def test_a_gguf_with_a_chat_template_is_an_instruct_model(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "it.gguf", 8192, "{{ messages }}")
    assert model_facts(str(path)) == GgufFacts(8192, True)
    base = write_gguf(tmp_path / "base.gguf", 2048, None)
    assert model_facts(str(base)) == GgufFacts(2048, False)
    assert capabilities("llamacpp", str(base), {"n_ctx": 4096}).context_window == 2048


def test_a_damaged_gguf_is_not_known_rather_than_an_error(tmp_path: Path) -> None:
    good = write_gguf(tmp_path / "cut.gguf", 8192, "{{ x }}").read_bytes()
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(good[:40])
    with pytest.raises(NotGGUF, match="truncated"):
        read_metadata(cut)
    not_gguf = tmp_path / "x.gguf"
    not_gguf.write_bytes(b"PK\x03\x04" + bytes(40))
    assert model_facts(str(not_gguf)) is None
    assert capabilities("llamacpp", str(not_gguf), {"n_ctx": 1024}).context_window == 1024


def test_ollama_reports_window_and_vision_from_api_show() -> None:
    with OllamaServer(
        models=["llava:7b", "llama3.2:3b"], context_length=8192, vision_models=["llava:7b"]
    ) as server:
        provider = OllamaProvider(settings={"host": server.url})
        try:
            assert capabilities("ollama", "llava:7b", provider=provider) == (8192, True, True)
            assert capabilities("ollama", "llama3.2:3b", provider=provider) == (8192, False, True)
            capabilities("ollama", "llava:7b", provider=provider)
        finally:
            provider.close()
        shows = [r for r in server.requests if r.path == "/api/show"]
        assert [r.json()["model"] for r in shows] == ["llava:7b", "llama3.2:3b"]  # asked once
        # Without an instance, the settings say where the server is.
        assert capabilities("ollama", "llava:7b", {"host": server.url}).vision


def test_ollama_down_or_model_unknown_means_not_known() -> None:
    with OllamaServer(models=["llama3.2:3b"]) as server:
        url = server.url
        assert capabilities("ollama", "nope:1b", {"host": url}) == (None, True, True)
    assert capabilities("ollama", "llama3.2:3b", {"host": url}) == (None, True, True)

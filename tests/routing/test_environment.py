"""Platform, offline switches and the reachability probe, against loopback ports only."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from convergio_llm.routing import environment as env


@pytest.fixture
def open_port() -> Iterator[int]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    yield server.getsockname()[1]
    server.close()


@pytest.fixture
def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port: int = s.getsockname()[1]
    s.close()
    return port


def test_probe_open_and_closed_ports(open_port: int, closed_port: int) -> None:
    # No wall-clock bound here (a loaded machine trips one): the answers are the contract.
    result = env.probe([("127.0.0.1", open_port), ("127.0.0.1", closed_port)], 0.3)
    assert result == {("127.0.0.1", open_port): True, ("127.0.0.1", closed_port): False}


def test_reachable_uses_disk_cache(tmp_path: Path, open_port: int, closed_port: int) -> None:
    cache = tmp_path / "reach.json"
    assert env.reachable([("127.0.0.1", open_port)], 0.3, 30, cache) == {
        ("127.0.0.1", open_port): True
    }
    # Within the TTL the cached answer stands, even though the port now refuses.
    cache.write_text(cache.read_text().replace(str(open_port), str(closed_port)))
    assert env.reachable([("127.0.0.1", closed_port)], 0.3, 30, cache) == {
        ("127.0.0.1", closed_port): True
    }
    # TTL 0 means "always probe".
    assert env.reachable([("127.0.0.1", closed_port)], 0.3, 0, cache) == {
        ("127.0.0.1", closed_port): False
    }


def test_corrupt_cache_is_ignored(tmp_path: Path, closed_port: int) -> None:
    cache = tmp_path / "reach.json"
    cache.write_text("{not json")
    assert env.reachable([("127.0.0.1", closed_port)], 0.3, 30, cache) == {
        ("127.0.0.1", closed_port): False
    }


@pytest.mark.parametrize(
    ("url", "endpoint"),
    [
        ("https://api.anthropic.com", ("api.anthropic.com", 443)),
        ("http://gpu-box:8000/v1", ("gpu-box", 8000)),
        ("http://[::1]:9/v1", ("::1", 9)),
        ("example.com/v1", ("example.com", 443)),
    ],
)
def test_endpoint_of(url: str, endpoint: tuple[str, int]) -> None:
    assert env.endpoint_of(url) == endpoint


def test_cloud_endpoint_follows_config_then_environment() -> None:
    assert env.cloud_endpoint("openai", {"base_url": "http://127.0.0.1:8000/v1"}, {}) == (
        "127.0.0.1",
        8000,
    )
    moved = {"ANTHROPIC_BASE_URL": "http://127.0.0.1:7000"}
    assert env.cloud_endpoint("anthropic", {}, moved) == ("127.0.0.1", 7000)
    assert env.cloud_endpoint("azure", {}, {}) is None


def test_offline_env_and_platform() -> None:
    assert env.offline_from_env({"CONVERGIO_LLM_OFFLINE": "1"})
    assert not env.offline_from_env({"CONVERGIO_LLM_OFFLINE": "0"})
    assert env.detect_platform() in env.PLATFORMS


def test_context_probes_configured_endpoint(open_port: int, closed_port: int) -> None:
    from tests.routing.conftest import make_context

    ctx = make_context(
        endpoints={"openai": ("127.0.0.1", open_port), "google": ("127.0.0.1", closed_port)}
    )
    del ctx.facts["reachable"]
    assert ctx.reachable(["openai", "google"]) == {"openai": True, "google": False}

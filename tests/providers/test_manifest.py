"""providers/manifest.py, hosts.py and regions.py: the facts every command reads, and the one
rule each for locality, price, availability and residency."""

from __future__ import annotations

from pathlib import Path

import pytest

from convergio_llm.providers import manifest
from convergio_llm.providers.hosts import host_class, is_private_host, split_url
from convergio_llm.providers.mlx import MLXProvider, cached_snapshot, resolve_model
from convergio_llm.providers.prices import FREE, price_for
from convergio_llm.providers.regions import region_from_host, residency_allows, zone_of
from convergio_llm.providers.registry import Registry
from convergio_llm.routing.config import Config
from tests.servers.ollama import OllamaServer, go_json


@pytest.mark.parametrize(
    ("host", "where"),
    [
        ("localhost", "loopback"),
        ("api.localhost", "loopback"),
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("0.0.0.0", "loopback"),
        ("::1", "loopback"),
        ("[::1]", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.5", "private"),
        ("172.31.255.255", "private"),
        ("192.168.1.20", "private"),
        ("169.254.10.1", "private"),
        ("100.101.102.103", "private"),  # CGNAT shared space, as Tailscale uses it
        ("fd12:3456::1", "private"),
        ("fe80::1%eth0", "private"),
        ("gpu-box", "private"),
        ("nas.local", "private"),
        ("gpu.lan", "private"),
        ("llm.internal", "private"),
        ("box.home.arpa", "private"),
        ("172.32.0.1", "public"),
        ("8.8.8.8", "public"),
        ("2001:4860:4860::8888", "public"),
        ("api.openai.com", "public"),
        ("ollama.com", "public"),
        ("gpu.example.com", "public"),
        ("192.168.1.20.nip.io", "public"),  # a name proves nothing, whatever it resolves to
        ("1.2.3", "public"),
    ],
)
def test_host_class_without_any_lookup(host: str, where: str) -> None:
    assert host_class(host) == where
    assert is_private_host(host) is (where != "public")


def test_split_url_reads_the_urls_users_write() -> None:
    assert split_url("https://user:pw@Host:8443/v1") == ("https", "host", 8443)
    assert split_url("http://[fd00::1]:8000/v1") == ("http", "fd00::1", 8000)
    assert split_url("gpu-box:8000") == ("https", "gpu-box", 8000)


@pytest.mark.parametrize(
    ("kind", "settings", "model", "environ", "where"),
    [
        ("llamacpp", {}, None, {}, "in-process"),
        ("ollama", {}, "llama3.2:3b", {}, "local-server"),
        ("ollama", {}, "gpt-oss:120b-cloud", {}, "cloud"),
        ("ollama", {}, "deepseek-v3.1:671b-cloud", {}, "cloud"),
        ("ollama", {}, "qwen3-coder:cloud", {}, "cloud"),
        ("ollama", {}, "llama3.2:3b", {"OLLAMA_HOST": "ollama.com"}, "cloud"),
        ("ollama", {}, "llama3.2:3b", {"OLLAMA_HOST": "https://ollama.com"}, "cloud"),
        ("ollama", {}, None, {"OLLAMA_HOST": "192.168.1.7:11434"}, "local-network"),
        ("ollama", {"host": "0.0.0.0"}, None, {"OLLAMA_HOST": "ollama.com"}, "local-server"),
        ("openai", {}, None, {}, "cloud"),
        ("openai", {}, None, {"OPENAI_BASE_URL": "http://127.0.0.1:8080/v1"}, "local-server"),
        ("openai", {"base_url": "http://gpu-box:8000/v1"}, None, {}, "local-network"),
        ("openai", {"base_url": "https://llm.example.com/v1"}, None, {}, "cloud"),
        ("openai", {"base_url": "https://x.io", "locality": "local-server"}, None, {}, "local-server"),  # noqa: E501
        # A vendor's base URL is a gateway in front of the vendor: still the vendor's cloud.
        ("anthropic", {}, None, {"ANTHROPIC_BASE_URL": "http://127.0.0.1:9"}, "cloud"),
        ("azure", {"base_url": "https://r.openai.azure.com"}, None, {}, "cloud"),
    ],
)  # fmt: skip
def test_locality_is_per_target(
    kind: str, settings: dict[str, str], model: str | None, environ: dict[str, str], where: str
) -> None:
    assert manifest.locality_of(kind, settings, model, environ) == where


def test_registry_answers_locality_without_importing_a_backend() -> None:
    registry = Registry({"vllm": {"kind": "openai", "base_url": "http://gpu-box:8000/v1"}})
    assert registry.locality_of("vllm") == "local-network"
    assert registry.locality_of("ollama", "gpt-oss:20b-cloud") == "cloud"
    assert registry.locality_of("anthropic") == "cloud"
    assert registry._live == {}


def test_a_live_ollama_listing_marks_remote_models_cloud() -> None:
    with OllamaServer(models=["llama3.2:3b"]) as server:
        tags = {
            "models": [
                {"name": "llama3.2:3b", "model": "llama3.2:3b", "size": 1},
                {"name": "glm:latest", "model": "glm:latest", "remote_host": "https://ollama.com"},
            ]
        }
        server.route("GET", "/api/tags", lambda r, m: go_json(tags))
        registry = Registry({"ollama": {"host": server.url}})
        assert registry.locality_of("ollama", "glm") == "local-server"  # not listed yet
        rows = {info.name: info for info in registry.get("ollama").models()}
    assert (rows["glm"].locality, rows["glm"].privacy) == ("cloud", "provider-dependent")
    assert (rows["llama3.2:3b"].locality, rows["llama3.2:3b"].privacy) == ("local-server", "high")
    assert registry.locality_of("ollama", "glm") == "cloud"


def test_price_follows_locality(monkeypatch: pytest.MonkeyPatch) -> None:
    config = Config(
        data={
            "providers": {
                "vllm": {"kind": "openai", "base_url": "http://gpu-box:8000/v1"},
                "hosted": {"kind": "openai", "base_url": "https://llm.example.com/v1"},
            }
        }
    )
    assert price_for("vllm", "my-model", config) is FREE
    assert price_for("hosted", "gpt-5-mini", config) is None  # someone else's server
    listed = price_for("openai", "gpt-5-mini", config)
    assert listed is not None and listed.output_per_mtok > 0
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:8080/v1")
    assert price_for("openai", "gpt-5-mini", config) is FREE  # not OpenAI's host: $0
    assert price_for("ollama", "gpt-oss:120b-cloud", config) is not FREE


def test_one_hint_per_missing_key_and_package() -> None:
    assert manifest.hint_for_missing_key("anthropic") == (
        "no API key: set ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN"
    )
    assert manifest.hint_for_missing_key("openai", "VLLM_API_KEY").startswith(
        "no API key: set VLLM_API_KEY"
    )
    assert manifest.hint_for_missing_package("google") == (
        "package 'google.genai' is not installed: pip install 'convergio-llm[google]'"
    )


def test_every_builtin_backend_takes_its_facts_from_the_manifest() -> None:
    registry = Registry(load_plugins=False)
    for kind, facts in manifest.MANIFEST.items():
        provider = registry.get(kind)
        assert provider.locality == facts.locality, kind
        assert provider.privacy == facts.privacy, kind
        assert set(manifest.secret_env_of(kind)) <= set(provider.secret_env), kind
        assert provider.default_model() == facts.tiers["simple"], kind


@pytest.mark.parametrize(
    ("region", "zone"),
    [("westeurope", "eu"), ("swedencentral", "eu"), ("europe-west4", "eu"), ("eu", "eu"),
     ("uksouth", "uk"), ("eastus", "us"), ("mars-1", None)],
)  # fmt: skip
def test_regions_map_to_zones(region: str, zone: str | None) -> None:
    assert zone_of(region) == zone


def test_endpoints_that_state_their_region() -> None:
    assert region_from_host("eu.api.openai.com") == "eu"
    assert region_from_host("europe-west4-aiplatform.googleapis.com") == "europe-west4"
    assert region_from_host("bedrock-runtime.eu-central-1.amazonaws.com") == "eu-central-1"
    assert region_from_host("my-resource.openai.azure.com") is None
    assert residency_allows("westeurope", ["eu"]) and residency_allows("westus", ["westus"])
    assert not residency_allows("eastus", ["eu"]) and not residency_allows(None, ["eu"])


def test_region_is_declared_or_stated_by_the_endpoint() -> None:
    registry = Registry(
        {
            "azure": {"region": "westeurope"},
            "eu_openai": {"kind": "openai", "base_url": "https://eu.api.openai.com/v1"},
        }
    )
    assert registry.region_of("azure") == "westeurope"
    assert registry.region_of("eu_openai") == "eu"
    assert registry.region_of("anthropic") is None


# --- mlx: availability and loading resolve the model the same way ----------------------


def _cache_model(hub: Path, repo_id: str) -> Path:
    repo = hub / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc123")
    (snapshot / "config.json").write_text("{}")
    (snapshot / "model.safetensors").write_bytes(b"")
    return snapshot


def test_mlx_is_available_only_when_its_model_is_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    model = manifest.MANIFEST["mlx"].tiers["simple"]
    missing = MLXProvider().available()
    assert not missing and "not in the local Hugging Face cache" in missing.reason
    snapshot = _cache_model(tmp_path / "hub", model)
    assert MLXProvider().available()
    assert cached_snapshot(model) == snapshot
    assert resolve_model(model) == snapshot  # what `llm run -m mlx` loads

"""The registry: built-ins, configured instances, plugins by entry point, duplicates refused."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from convergio_llm.providers.errors import ConfigError, UnknownProvider
from convergio_llm.providers.fake import FakeProvider
from convergio_llm.providers.registry import BUILTIN_KINDS, Registry, split_ref
from tests.conftest import pythonpath, run_llm


def test_split_ref_keeps_colons_in_model_names() -> None:
    assert split_ref("ollama:llama3.2:3b") == ("ollama", "llama3.2:3b")
    assert split_ref("ollama") == ("ollama", None)
    assert split_ref("ollama:") == ("ollama", None)
    with pytest.raises(UnknownProvider):
        split_ref(":model")


def test_every_builtin_kind_resolves_to_a_provider_class() -> None:
    registry = Registry(load_plugins=False)
    for name in BUILTIN_KINDS:
        provider = registry.get(name)
        assert provider.name == name
        assert provider.kind == name


def test_instances_are_created_once_and_named() -> None:
    registry = Registry({"fast": {"kind": "fake", "ttft_s": 0.0}})
    one, two = registry.get("fast"), registry.get("fast")
    assert one is two
    assert isinstance(one, FakeProvider)
    assert one.name == "fast" and one.settings == {"ttft_s": 0.0}
    assert "fast" in registry.names()


def test_an_instance_may_not_take_a_builtin_name_with_another_kind() -> None:
    with pytest.raises(ConfigError, match="clashes with the built-in"):
        Registry({"openai": {"kind": "ollama"}})


def test_unknown_name_lists_what_is_known() -> None:
    with pytest.raises(UnknownProvider, match=r"known: .*fake"):
        Registry(load_plugins=False).get("nosuch")


def _install_plugin(tmp_path: Path, name: str) -> Path:
    """A real distribution on sys.path declaring an entry point, as pip would install it."""
    site = tmp_path / "site"
    pkg = site / "echoplugin"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(
        textwrap.dedent(
            """
            from convergio_llm.providers.fake import FakeProvider

            class Shout(FakeProvider):
                kind = "shout"
            """
        )
    )
    dist = site / "echoplugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: echoplugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        f"[convergio_llm.providers]\n{name} = echoplugin:Shout\n"
    )
    return site


def test_plugins_register_through_entry_points(tmp_path: Path) -> None:
    site = _install_plugin(tmp_path, "shout")
    result = run_llm("run", "-m", "shout:echo", input="hi plugin", env=pythonpath(site))
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"hi plugin\n"


def test_a_plugin_duplicating_a_builtin_is_refused(tmp_path: Path) -> None:
    site = _install_plugin(tmp_path, "ollama")
    sys.path.insert(0, str(site))
    try:
        import importlib

        importlib.invalidate_caches()
        with pytest.raises(ConfigError, match=r"plugin provider 'ollama'.*duplicates"):
            Registry().names()
    finally:
        sys.path.remove(str(site))


# The built-in cloud kinds' availability and catalogue, answered from the manifest without
# importing the backend (what `llm route` does), must be what the loaded backend answers.
_CLOUD_ENV = (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_ENDPOINT",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "MY_KEY",
)


@pytest.mark.parametrize(
    ("name", "instances", "env"),
    [
        ("anthropic", {}, {}),
        ("anthropic", {}, {"ANTHROPIC_AUTH_TOKEN": "t"}),
        ("anthropic", {"anthropic": {"models": {"simple": "mine", "bogus": "x"}}}, {}),
        ("google", {}, {}),
        ("google", {}, {"GEMINI_API_KEY": "k"}),
        ("azure", {}, {}),
        ("azure", {}, {"AZURE_OPENAI_API_KEY": "k"}),
        ("azure", {}, {"AZURE_OPENAI_API_KEY": "k", "AZURE_OPENAI_ENDPOINT": "https://x.test"}),
        ("eu", {"eu": {"kind": "azure", "base_url": "https://eu.test"}}, {}),
        ("openai", {}, {}),
        ("openai", {}, {"OPENAI_API_KEY": "k"}),
        ("openai", {}, {"OPENAI_BASE_URL": "http://127.0.0.1:8000/v1"}),
        ("vllm", {"vllm": {"kind": "openai", "base_url": "http://10.0.0.5:8000/v1"}}, {}),
        ("mine", {"mine": {"kind": "openai", "api_key_env": "MY_KEY"}}, {}),
        ("mine", {"mine": {"kind": "openai", "api_key_env": "MY_KEY"}}, {"MY_KEY": "k"}),
        (
            "lan",
            {"lan": {"kind": "openai", "base_url": "http://10.0.0.5/v1", "locality": "cloud"}},
            {},
        ),
    ],
)
def test_an_unloaded_cloud_backend_is_answered_as_the_loaded_one_answers(
    name: str,
    instances: dict[str, dict[str, object]],
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for var in _CLOUD_ENV:
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    unloaded, loaded = (
        Registry(instances, load_plugins=False),
        Registry(instances, load_plugins=False),
    )
    backend = loaded.get(name)
    assert unloaded.available_offline(name) == backend.available_offline()
    assert dict(unloaded.catalogue(name)) == backend.catalogue()
    assert loaded.available_offline(name) == backend.available_offline()  # live: asked as ever

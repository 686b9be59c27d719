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

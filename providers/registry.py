"""Which backends exist, by name, and the one instance of each for this process.

Built-in kinds are registered here exactly as a third-party plugin registers through
the `convergio_llm.providers` entry-point group: a name and an import path, loaded
only when that backend is first used. Config can declare more instances of a kind
(two OpenAI-compatible servers named `vllm` and `lmstudio`).

The built-in kinds and their facts are providers/manifest.py's. `locality_of()` and
`region_of()` answer for any instance without importing its backend (built-in kinds), so
routing and the executor can ask them per target, cheaply.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from convergio_llm.providers import manifest
from convergio_llm.providers.errors import ConfigError, UnknownProvider, register_secret_env

if TYPE_CHECKING:
    # Only for types: routing builds a Registry without needing any backend loaded.
    from convergio_llm.providers.base import Provider
    from convergio_llm.providers.values import Availability

ENTRY_POINT_GROUP = "convergio_llm.providers"

BUILTIN_KINDS: dict[str, str] = {kind: facts.target for kind, facts in manifest.MANIFEST.items()}


def _load_class(target: str) -> type[Provider]:
    from convergio_llm.providers.base import Provider

    module_name, _, attr = target.partition(":")
    cls = getattr(importlib.import_module(module_name), attr)
    if not (isinstance(cls, type) and issubclass(cls, Provider)):
        raise ConfigError(f"{target} is not a Provider subclass")
    return cls


def split_ref(ref: str) -> tuple[str, str | None]:
    """`ollama:llama3.2:3b` → (`ollama`, `llama3.2:3b`); `ollama` → (`ollama`, None)."""
    provider, sep, model = ref.partition(":")
    if not provider:
        raise UnknownProvider(f"'{ref}' names no provider (expected provider:model)")
    return provider, (model if sep and model else None)


class Registry:
    """Names → provider instances, created on first use and kept for the process."""

    def __init__(
        self,
        instances: Mapping[str, Mapping[str, Any]] | None = None,
        kinds: Mapping[str, str | type[Provider]] | None = None,
        load_plugins: bool = True,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.environ: Mapping[str, str] = os.environ if environ is None else environ
        self._kinds: dict[str, str | type[Provider]] = dict(BUILTIN_KINDS)
        for name, target in (kinds or {}).items():
            self._add_kind(name, target, origin="argument")
        self._load_plugins = load_plugins
        self._plugins_loaded = False
        # instance name → (kind, settings); every kind is also an instance of itself.
        self._instances: dict[str, tuple[str, dict[str, Any]]] = {}
        for name, declared in (instances or {}).items():
            settings = dict(declared or {})
            kind = str(settings.pop("kind", name))
            if name in self._instances:
                raise ConfigError(f"provider '{name}' is declared twice")
            if name in self._kinds and kind != name:
                raise ConfigError(
                    f"provider instance '{name}' clashes with the built-in provider of that name"
                )
            if env_name := settings.get("api_key_env"):
                register_secret_env(str(env_name))
            self._instances[name] = (kind, settings)
        self._live: dict[str, Provider] = {}

    def _add_kind(self, name: str, target: str | type[Provider], origin: str) -> None:
        if name in self._kinds:
            raise ConfigError(f"provider '{name}' from {origin} duplicates an existing provider")
        self._kinds[name] = target

    def _ensure_plugins(self) -> None:
        if self._plugins_loaded or not self._load_plugins:
            return
        self._plugins_loaded = True
        from importlib.metadata import entry_points

        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if ep.name in BUILTIN_KINDS or ep.name in self._instances:
                raise ConfigError(
                    f"plugin provider '{ep.name}' ({ep.value}) duplicates an existing provider"
                )
            if ep.name not in self._kinds:
                self._add_kind(ep.name, ep.value, origin=f"plugin {ep.value}")

    def names(self, include_plugins: bool = True) -> list[str]:
        if include_plugins:
            self._ensure_plugins()
        names = list(self._kinds)
        names += [n for n in self._instances if n not in self._kinds]
        return names

    def kind_of(self, name: str) -> str:
        if name in self._instances:
            return self._instances[name][0]
        if name not in self._kinds:
            self._ensure_plugins()
        if name in self._kinds:
            return name
        raise UnknownProvider(
            f"unknown provider '{name}' (known: {', '.join(sorted(self.names()))})"
        )

    def get(self, name: str) -> Provider:
        if name in self._live:
            return self._live[name]
        kind = self.kind_of(name)
        if kind not in self._kinds:
            self._ensure_plugins()
        if kind not in self._kinds:
            raise ConfigError(f"provider '{name}' has unknown kind '{kind}'")
        target = self._kinds[kind]
        cls = _load_class(target) if isinstance(target, str) else target
        settings = self._instances.get(name, (kind, {}))[1]
        provider = cls(name=name, settings=settings)
        self._live[name] = provider
        return provider

    def available_offline(self, name: str) -> Availability:
        """`get(name).available_offline()`; for a built-in cloud kind not yet loaded, the
        manifest's answer, so `llm route` need not import the backend to skip it."""
        if name not in self._live:
            found = manifest.offline_availability(self.kind_of(name), name, self.settings_of(name))
            if found is not None:
                return found
        return self.get(name).available_offline()

    def catalogue(self, name: str) -> Mapping[Any, str]:  # Any: the backends key by Tier
        """`get(name).catalogue()`, answered the same way without loading a built-in backend."""
        if name not in self._live:
            found = manifest.catalogue_for(self.kind_of(name), self.settings_of(name))
            if found is not None:
                return found
        return self.get(name).catalogue()

    def settings_of(self, name: str) -> Mapping[str, Any]:
        """The config settings of instance `name` (empty for a built-in used as is)."""
        return self._instances.get(name, (name, {}))[1]

    def locality_of(
        self, name: str, model: str | None = None, environ: Mapping[str, str] | None = None
    ) -> manifest.Locality:
        """Where a request to `name:model` runs: in-process, local-server, local-network or
        cloud. Built-in kinds are answered from the manifest and the host they talk to,
        without importing their backend; a plugin's class says. One definition for routing,
        the executor, prices and `llm models` (rules: providers/manifest.py)."""
        kind = self.kind_of(name)
        live = self._live.get(name)
        remote = getattr(live, "remote_models", ())  # models a live Ollama listing marked remote
        env = self.environ if environ is None else environ
        found = manifest.locality_of(kind, self.settings_of(name), model, env, remote)
        if found is not None:
            return found
        return self.get(name).locality

    def region_of(self, name: str, environ: Mapping[str, str] | None = None) -> str | None:
        """The region the instance keeps data in: declared in config, or stated by its endpoint."""
        env = self.environ if environ is None else environ
        return manifest.region_of(self.kind_of(name), self.settings_of(name), env)

    def providers(self, names: Iterable[str] | None = None) -> list[Provider]:
        return [self.get(n) for n in (self.names() if names is None else names)]

    def close(self) -> None:
        for provider in self._live.values():
            provider.close()
        self._live.clear()

"""The user's configuration: YAML, validated on load, with defaults that work offline.

Validation walks the YAML node tree (not the loaded dict) so every error can name
the file, the line, the key and what was expected, in one line. Every key is checked:
an unknown one (a top-level key, a provider option, a provider `kind:`, the provider of
a `tiers:` entry) is refused with the nearest valid name. A YAML tag that safe_load
refuses (`!!python/object/apply:...`) is refused in the same one line.
"""

# Real annotations (no `from __future__ import annotations`): typing.NamedTuple would compile
# each string annotation of the records below at every start (tests/test_startup_imports.py).
import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path  # at run time: a field's type (typer has imported it already)
from types import MappingProxyType
from typing import Any, NamedTuple

from convergio_llm.providers.errors import ConfigError
from convergio_llm.providers.registry import BUILTIN_KINDS, ENTRY_POINT_GROUP
from convergio_llm.routing.paths import config_file

PROFILES = ("free", "pro", "enterprise")

# The schema: a key maps to a type name, a nested schema, or ("map", schema) for
# a mapping with free keys. Types: str, bool, number, int, ref (provider:model),
# list[str], scalar (a string or a number), any, and enum strings "a|b|c".
# To add a key, add it here (and, for a provider option, to PROVIDER_OPTIONS below).
_PRICE = {
    "input_per_mtok": "number",
    "output_per_mtok": "number",
    "cached_input_per_mtok": "number",
    "cache_write_per_mtok": "number",
    "batch_discount": "number",
    "context_window": "int",
    "long_context_threshold": "int",
    "long_input_per_mtok": "number",
    "long_output_per_mtok": "number",
    "long_cached_input_per_mtok": "number",
    "vendor_page": "bool",
    "checked": "str",
    "source": "str",
}
_BUDGET_LIMITS = {"monthly_usd": "number", "daily_usd": "number"}
SCHEMA: dict[str, Any] = {
    "profile": "free|pro|enterprise",
    "tiers": {"simple": "ref", "medium": "ref", "complex": "ref"},
    "default_model": "ref",
    "budgets": {
        "monthly_usd": "number",
        "daily_usd": "number",
        "low_threshold_usd": "number",
        "per_provider": ("map", _BUDGET_LIMITS),
        "on_exceed": "refuse|local",
        "estimate_output_tokens": "int",
    },
    "privacy": {
        "auto_detect": "bool",
        "required": "bool",
        "terms": "list[str]",
        "patterns": "list[str]",
        "ignore": "list[str]",
        # zones or regions a cloud target must keep data in (providers/regions.py)
        "residency": "list[str]",
        # a server on the user's own network counts as local for --private (manifest.py)
        "trust_local_network": "bool",
    },
    "offline": "bool",
    "routing": {
        "thresholds": {"medium": "number", "complex": "number"},
        "router": "learned|heuristic",
        "local_preference": "list[str]",
        "cloud_preference": "list[str]",
        "probe_timeout_s": "number",
        "probe_ttl_s": "number",
    },
    "providers": "providers",  # checked per kind against PROVIDER_OPTIONS
    "prices": ("map", _PRICE),
    "cache": {"enabled": "bool", "ttl_days": "number", "deterministic_only": "bool"},
    "ledger": {"enabled": "bool"},
    # What `llm run -c` does when a conversation outgrows every target's context window.
    "conversations": {"on_overflow": "drop|refuse"},
}


# Options every provider instance takes, then each built-in kind's own. A kind that is
# not built in (a plugin's) takes any options: only the plugin knows them.
_CLOUD = {
    "timeout": "number",  # the old name of read_timeout
    "connect_timeout": "number",
    "read_timeout": "number",
    "max_retries": "int",
    "max_retry_wait": "number",
}
COMMON_OPTIONS: dict[str, Any] = {
    "kind": "str",
    "models": {"simple": "str", "balanced": "str", "quality": "str"},
    "base_url": "str",
    "api_key_env": "str",
    "locality": "in-process|local-server|local-network|cloud",
    "privacy": "maximum|high|provider-dependent",
    # where the instance keeps data (privacy.residency; providers/regions.py)
    "region": "str",
    # limits honoured across threads by `run --concurrency` (routing/limits.py)
    "max_concurrency": "int",
    "requests_per_minute": "number",
    "tokens_per_minute": "number",
}
PROVIDER_OPTIONS: dict[str, dict[str, Any]] = {
    "fake": {
        "words": "int",
        "ttft_s": "number",
        "token_s": "number",
        "load_s": "number",
        "fail_every": "int",
        "abort_every": "int",
        "clock": "str",
    },
    "llamacpp": {
        "max_tokens": "int",
        "n_ctx": "int",
        "n_threads": "int",
        "allow_amx": "bool",
        "verbose": "bool",
    },
    "mlx": {"max_tokens": "int"},
    "ollama": {
        **_CLOUD,  # its HTTP client's timeouts and retries
        "host": "str",
        "keep_alive": "scalar",
        "preload_keep_alive": "scalar",
    },
    "openai": {**_CLOUD, "organization": "str", "token_param": "str"},
    "azure": {**_CLOUD, "api_version": "str", "token_param": "str"},
    "anthropic": {**_CLOUD, "max_tokens": "int"},
    "google": {**_CLOUD, "api_version": "str"},
}


# Keys whose map keys or list items are provider names (checked like a `tiers:` ref).
_NAMES_PROVIDERS = frozenset(
    ("budgets.per_provider", "routing.local_preference", "routing.cloud_preference")
)


class Config(NamedTuple):  # immutable; a NamedTuple defines faster than a dataclass (start-up)
    path: Path | None = None
    data: Mapping[str, Any] = MappingProxyType({})

    def get(self, dotted: str, default: Any = None) -> Any:
        node: Any = self.data
        for part in dotted.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return default
            node = node[part]
        return node

    @property
    def profile(self) -> str:
        return str(self.get("profile", "pro"))

    @property
    def providers(self) -> Mapping[str, Mapping[str, Any]]:
        return self.get("providers", {}) or {}


def load_config(explicit: str | os.PathLike[str] | None = None) -> Config:
    path, required = config_file(explicit)
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        if required:
            raise ConfigError(f"{path}: config file not found") from None
        return Config(path=None)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config ({exc})") from None
    from pathlib import Path

    return parse_config(text, Path(path))


def parse_config(text: str, path: Path | None = None) -> Config:
    import yaml

    where = str(path or "<config>")
    try:
        Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        root = yaml.compose(text, Loader=Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{where}{line}: invalid YAML: {problem}") from None
    if root is None:
        return Config(path=path)
    refs: list[tuple[str, Any, str]] = []
    data = _validate(root, SCHEMA, where, "", refs)
    _check_refs(refs, data.get("providers") or {}, where)
    return Config(path=path, data=data)


def _nearest(name: str, valid: Iterable[str]) -> str:
    import difflib  # only on the way to an error

    close = difflib.get_close_matches(name, list(valid), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def _plugin_kinds() -> list[str]:
    """Provider kinds that installed plugins add (looked up only for a name that is not
    built in: reading entry points costs start-up time)."""
    from importlib.metadata import entry_points

    return [ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)]


def _check_refs(refs: list[tuple[str, Any, str]], providers: Mapping[str, Any], where: str) -> None:
    """Each provider:model reference (tiers, default_model) names a provider that exists."""
    plugins: list[str] | None = None
    for value, node, key in refs:
        provider = value.partition(":")[0]
        if provider in BUILTIN_KINDS or provider in providers:
            continue
        plugins = _plugin_kinds() if plugins is None else plugins
        if provider in plugins:
            continue
        known = [*BUILTIN_KINDS, *providers, *plugins]
        raise ConfigError(
            f"{where}:{node.start_mark.line + 1}: '{key}' names the unknown provider "
            f"'{provider}'{_nearest(provider, known)}"
        )


def _fail(where: str, node: Any, key: str, expected: str) -> ConfigError:
    line = node.start_mark.line + 1
    return ConfigError(f"{where}:{line}: '{key or '<top>'}' must be {expected}")


def _validate(node: Any, schema: Any, where: str, key: str, refs: list[Any]) -> Any:
    import yaml

    if schema == "providers":
        return _providers(node, where, key, refs)
    if isinstance(schema, dict):
        if not isinstance(node, yaml.MappingNode):
            raise _fail(where, node, key, "a mapping")
        out: dict[str, Any] = {}
        for knode, vnode in node.value:
            name = str(knode.value)
            full = f"{key}.{name}" if key else name
            if name not in schema:
                allowed = ", ".join(sorted(schema))
                line = knode.start_mark.line + 1
                raise ConfigError(
                    f"{where}:{line}: unknown key '{full}' (expected one of {allowed})"
                    f"{_nearest(name, schema)}"
                )
            out[name] = _validate(vnode, schema[name], where, full, refs)
        return out
    if isinstance(schema, tuple):
        if not isinstance(node, yaml.MappingNode):
            raise _fail(where, node, key, "a mapping")
        if key in _NAMES_PROVIDERS:
            refs.extend((str(k.value), k, f"{key}.{k.value}") for k, _ in node.value)
        return {
            str(k.value): _validate(v, schema[1], where, f"{key}.{k.value}", refs)
            for k, v in node.value
        }
    value = _construct(node, where, key)
    if schema == "ref" and isinstance(value, str):
        refs.append((value, node, key))
    if key in _NAMES_PROVIDERS and isinstance(node, yaml.SequenceNode):
        refs.extend((str(item.value), item, key) for item in node.value)
    return _check_scalar(value, schema, where, node, key)


def _providers(node: Any, where: str, key: str, refs: list[Any]) -> dict[str, Any]:
    """`providers:`: each instance's options checked against its kind's."""
    import yaml

    if not isinstance(node, yaml.MappingNode):
        raise _fail(where, node, key, "a mapping")
    out: dict[str, Any] = {}
    plugins: list[str] | None = None
    for knode, vnode in node.value:
        name = str(knode.value)
        full = f"{key}.{name}"
        if not isinstance(vnode, yaml.MappingNode):
            raise _fail(where, vnode, full, "a mapping of options (e.g. {base_url: ...})")
        kind_node = next((v for k, v in vnode.value if k.value == "kind"), None)
        kind = name if kind_node is None else _construct(kind_node, where, f"{full}.kind")
        if not isinstance(kind, str):
            raise _fail(where, kind_node, f"{full}.kind", "a string")
        if kind in PROVIDER_OPTIONS:
            schema: Any = {**COMMON_OPTIONS, **PROVIDER_OPTIONS[kind]}
        else:
            plugins = _plugin_kinds() if plugins is None else plugins
            if kind not in plugins:
                what = "kind" if kind_node is not None else "provider"
                at = kind_node if kind_node is not None else knode
                hint = "" if kind_node is not None else " (a new instance needs kind:)"
                raise ConfigError(
                    f"{where}:{at.start_mark.line + 1}: '{full}' names the unknown {what} "
                    f"'{kind}'{_nearest(kind, [*PROVIDER_OPTIONS, *plugins])}{hint}"
                )
            schema = ("map", "any")
        out[name] = _validate(vnode, schema, where, full, refs)
    return out


def _construct(node: Any, where: str, key: str) -> Any:
    import yaml

    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or "cannot be read"
        line = node.start_mark.line + 1
        raise ConfigError(
            f"{where}:{line}: '{key or '<top>'}': {problem.splitlines()[0]} "
            f"(only plain YAML values are read)"
        ) from None
    finally:
        loader.dispose()


def _check_scalar(value: Any, kind: str, where: str, node: Any, key: str) -> Any:
    if kind == "any":
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise _fail(where, node, key, "true or false")
        return value
    if kind in ("number", "int"):
        ok = isinstance(value, int) if kind == "int" else isinstance(value, (int, float))
        if isinstance(value, bool) or not ok or not math.isfinite(value) or value < 0:
            raise _fail(
                where, node, key, "a non-negative " + ("integer" if kind == "int" else "number")
            )
        return value
    if kind == "scalar":
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise _fail(where, node, key, "a string or a number")
        return value
    if kind == "list[str]":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _fail(where, node, key, "a list of strings")
        return value
    if not isinstance(value, str):
        raise _fail(where, node, key, "a string")
    if kind == "ref" and ":" not in value:
        raise _fail(where, node, key, "provider:model (e.g. ollama:llama3.2:3b)")
    if "|" in kind and value not in kind.split("|"):
        raise _fail(where, node, key, "one of " + ", ".join(kind.split("|")))
    return value

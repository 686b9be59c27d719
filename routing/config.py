"""The user's configuration: YAML, validated on load, with defaults that work offline.

Validation walks the YAML node tree (not the loaded dict) so every error can name
the file, the line, the key and what was expected, in one line.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from convergio_llm.providers.errors import ConfigError
from convergio_llm.routing.paths import config_file

if TYPE_CHECKING:
    from pathlib import Path

PROFILES = ("free", "pro", "enterprise")

# The schema: a key maps to a type name, a nested schema, or ("map", schema) for
# a mapping with free keys. Types: str, bool, number, int, ref (provider:model),
# list[str], any, and enum strings "a|b|c".
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
    },
    "offline": "bool",
    "routing": {
        "thresholds": {"medium": "number", "complex": "number"},
        "local_preference": "list[str]",
        "cloud_preference": "list[str]",
        "probe_timeout_s": "number",
        "probe_ttl_s": "number",
    },
    "providers": ("map", "any"),
    "prices": ("map", _PRICE),
    "cache": {"enabled": "bool", "ttl_days": "number", "deterministic_only": "bool"},
    "ledger": {"enabled": "bool"},
    # What `llm run -c` does when a conversation outgrows every target's context window.
    "conversations": {"on_overflow": "drop|refuse"},
}


@dataclass(frozen=True)
class Config:
    path: Path | None = None
    data: Mapping[str, Any] = field(default_factory=dict)

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
    data = _validate(root, SCHEMA, where, "")
    return Config(path=path, data=data)


def _fail(where: str, node: Any, key: str, expected: str) -> ConfigError:
    line = node.start_mark.line + 1
    return ConfigError(f"{where}:{line}: '{key or '<top>'}' must be {expected}")


def _validate(node: Any, schema: Any, where: str, key: str) -> Any:
    import yaml

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
                )
            out[name] = _validate(vnode, schema[name], where, full)
        return out
    if isinstance(schema, tuple):
        if not isinstance(node, yaml.MappingNode):
            raise _fail(where, node, key, "a mapping")
        return {
            str(k.value): _validate(v, schema[1], where, f"{key}.{k.value}") for k, v in node.value
        }
    value = _construct(node)
    return _check_scalar(value, schema, where, node, key)


def _construct(node: Any) -> Any:
    import yaml

    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
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
        if isinstance(value, bool) or not ok or value < 0:
            raise _fail(
                where, node, key, "a non-negative " + ("integer" if kind == "int" else "number")
            )
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

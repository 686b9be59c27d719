"""What a request costs: the shipped price table (prices.yaml), config overrides, and $0 local.

Lookup order for `provider:model`:
1. the config's `prices:` entry for `provider:model`, then `provider:*` (merged over the shipped
   price when there is one, so an override may change a single field);
2. a target that is not in the cloud (providers/manifest.py's `locality_of`, the same rule
   routing and `llm models` use: in-process, a loopback server, a server on the user's own
   network — the built-in `openai` pointed at a loopback OPENAI_BASE_URL included) costs $0,
   a real price;
3. a self-hostable kind (openai) talking to a public host that is not the vendor's is
   someone else's server: unknown (None), unless the config prices it;
4. the shipped table, by provider kind, with dated snapshots mapped to their model
   (`claude-haiku-4-5-20251001` → `claude-haiku-4-5`); a vendor kind's base URL (a proxy or
   gateway in front of the vendor) does not change the vendor's price;
5. otherwise None: unknown, never a guessed default.

Token accounting: `input_tokens` counts every prompt token, *including* the cached reads and
cache writes given separately; `output_tokens` counts every billed output token, reasoning
included. The table is read on the first lookup only, from prices_table.py (prices.yaml, parsed
ahead of time), so `llm route` never imports yaml.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from convergio_llm.providers import manifest
from convergio_llm.providers.errors import ConfigError

if TYPE_CHECKING:  # `llm route` prices a decision without loading the provider machinery
    from convergio_llm.providers.base import Usage

PRICE_FILE = Path(__file__).with_name("prices.yaml")
# Resolved: an editable install links each source file, and the mirror belongs beside it.
MIRROR_FILE = Path(__file__).resolve().with_name("prices_table.py")
MTOK = 1_000_000
_DATED_SNAPSHOT = re.compile(r"^(?P<model>.+?)-(?:20\d{6}|20\d\d-\d\d-\d\d)$")


class Price(NamedTuple):  # a NamedTuple, as route's other records (no dataclass at start-up)
    input_per_mtok: float
    output_per_mtok: float
    cached_input_per_mtok: float | None = None
    cache_write_per_mtok: float | None = None
    batch_discount: float = 0.0
    long_context_threshold: int | None = None
    long_input_per_mtok: float | None = None
    long_cached_input_per_mtok: float | None = None
    long_output_per_mtok: float | None = None
    context_window: int | None = None
    checked: str | None = None
    source: str | None = None
    vendor_page: bool | None = None
    # The price-table version this came from: the shipped version, "+config" when the
    # config changed it, or "local" for a $0 engine. Recorded in every ledger row.
    version: str = ""
    local: bool = False

    def cost(
        self,
        input_tokens: int,
        output_tokens: int,
        cached_input_tokens: int = 0,
        cache_write_tokens: int = 0,
        batch: bool = False,
    ) -> float:
        """USD for one request; the long-context tier prices the whole request when it applies."""
        long = (
            self.long_context_threshold is not None and input_tokens > self.long_context_threshold
        )
        in_rate = _pick(long, self.long_input_per_mtok, self.input_per_mtok)
        out_rate = _pick(long, self.long_output_per_mtok, self.output_per_mtok)
        # A vendor that lists no cached or cache-write price bills those tokens as plain input.
        cached = self.cached_input_per_mtok
        cached_rate = _pick(
            long, self.long_cached_input_per_mtok, in_rate if cached is None else cached
        )
        write_rate = in_rate if self.cache_write_per_mtok is None else self.cache_write_per_mtok
        plain = max(0, input_tokens - cached_input_tokens - cache_write_tokens)
        usd = (
            plain * in_rate
            + cached_input_tokens * cached_rate
            + cache_write_tokens * write_rate
            + output_tokens * out_rate
        ) / MTOK
        return usd * (1 - self.batch_discount) if batch else usd

    def to_json(self) -> dict[str, Any]:
        return dict(self._asdict())


def _pick(long: bool, long_rate: float | None, rate: float) -> float:
    return long_rate if long and long_rate is not None else rate


_FIELDS = set(Price._fields) - {"version", "local"}
FREE = Price(0.0, 0.0, 0.0, 0.0, version="local", local=True, source="local engine")


def read_price_file(path: Path = PRICE_FILE) -> dict[str, Any]:
    """prices.yaml as the table lookups use: defaults merged into each model, aliases
    flattened. Only the mirror's generator and its test read the YAML (see `_table`)."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the price table ({exc})") from None
    version = str(data["version"])
    models: dict[str, dict[str, dict[str, Any]]] = {}
    aliases: dict[tuple[str, str], str] = {}
    for kind, section in (data.get("providers") or {}).items():
        defaults = dict(section.get("defaults") or {})
        models[kind] = {}
        for name, entry in (section.get("models") or {}).items():
            merged = {**defaults, **entry}
            for alias in merged.pop("aliases", None) or ():
                aliases[(kind, alias)] = name
            models[kind][name] = merged
    return {"version": version, "models": models, "aliases": aliases}


@functools.lru_cache(maxsize=1)
def _table() -> dict[str, Any]:
    # prices_table.py is prices.yaml already parsed (generated by `make prices`, checked
    # against the YAML by tests/providers/test_prices_table.py): `llm route` prices a cloud
    # target from bytecode, without importing yaml (~15 ms of its start-up).
    from convergio_llm.providers.prices_table import TABLE

    return TABLE


def write_mirror(path: Path = MIRROR_FILE) -> None:
    """Regenerate prices_table.py from prices.yaml (`make prices`)."""
    import pprint

    table = read_price_file()
    body = pprint.pformat(table, sort_dicts=False, width=96)
    path.write_text(
        f'"""prices.yaml, parsed. Generated by `make prices`: edit prices.yaml, not this."""\n\n'
        "from typing import Any\n\n"
        f"TABLE: dict[str, Any] = {body}\n",
        encoding="utf-8",
    )


def table_version() -> str:
    return str(_table()["version"])


def _config_data(config: Any) -> Mapping[str, Any]:
    if config is None:
        return {}
    if isinstance(config, Mapping):
        return config
    data = getattr(config, "data", None)
    return data if isinstance(data, Mapping) else {}


def _instance(provider: str, config: Any) -> tuple[str, Mapping[str, Any]]:
    """The provider's kind and its config settings (a built-in is an instance of itself)."""
    settings = (_config_data(config).get("providers") or {}).get(provider) or {}
    return str(settings.get("kind", provider)), settings


def is_local(provider: str, config: Any = None, model: str | None = None) -> bool:
    """Runs on the user's own hardware (this machine or their network): $0 per token."""
    kind, settings = _instance(provider, config)
    where = manifest.locality_of(kind, settings, model, os.environ)
    if where is None:  # a plugin kind: its class says
        from convergio_llm.providers.registry import BUILTIN_KINDS, _load_class

        if kind not in BUILTIN_KINDS:
            return False
        where = _load_class(BUILTIN_KINDS[kind]).locality
    return where != "cloud"


def _someone_elses_server(kind: str, settings: Mapping[str, Any]) -> bool:
    """A self-hostable kind talking to a host that is not the vendor's: the vendor's prices
    do not apply (a private host is free before this is asked; a public one is unknown)."""
    known = manifest.facts(kind)
    if known is None or not known.host_decides:
        return False
    host = manifest.host_of(kind, settings, os.environ)
    return host is not None and not manifest.is_vendor_host(kind, host)


def canonical_model(kind: str, model: str) -> str:
    """The price-table name for `model`: aliases first, then a dated snapshot's base name."""
    table = _table()
    if model in table["models"].get(kind, {}):
        return model
    if (kind, model) in table["aliases"]:
        return str(table["aliases"][(kind, model)])
    match = _DATED_SNAPSHOT.match(model)
    if match and match["model"] in table["models"].get(kind, {}):
        return match["model"]
    return model


def _shipped(kind: str, model: str) -> Price | None:
    table = _table()
    entry = table["models"].get(kind, {}).get(canonical_model(kind, model))
    if entry is None:
        return None
    return Price(**{k: v for k, v in entry.items() if k in _FIELDS}, version=table["version"])


def price_for(provider: str, model: str, config: Any = None) -> Price | None:
    """The price of provider:model, or None when nobody knows it."""
    kind, settings = _instance(provider, config)
    overrides = _config_data(config).get("prices") or {}
    for key in (f"{provider}:{model}", f"{provider}:*"):
        if key in overrides:
            return _override(key, dict(overrides[key]), provider, kind, model, settings, config)
    if is_local(provider, config, model):
        return FREE
    if _someone_elses_server(kind, settings):
        return None
    return _shipped(kind, model)


def _override(
    key: str,
    entry: dict[str, Any],
    provider: str,
    kind: str,
    model: str,
    settings: Mapping[str, Any],
    config: Any,
) -> Price:
    unknown = set(entry) - _FIELDS
    if unknown:
        raise ConfigError(f"prices.{key}: unknown field(s) {', '.join(sorted(unknown))}")
    base = None if _someone_elses_server(kind, settings) else _shipped(kind, model)
    if base is None:
        missing = [f for f in ("input_per_mtok", "output_per_mtok") if f not in entry]
        if missing:
            raise ConfigError(f"prices.{key}: a new price needs {' and '.join(missing)}")
        return Price(**entry, version="config")
    return base._replace(**entry, version=f"{base.version}+config")


def estimate_cost(
    provider: str, model: str, input_tokens: int, output_tokens: int, config: Any = None
) -> float | None:
    """USD for this many tokens on provider:model; 0.0 for local engines; None when unknown."""
    price = price_for(provider, model, config)
    return None if price is None else price.cost(input_tokens, output_tokens)


def cost_of(
    provider: str, model: str, usage: Usage, config: Any = None, batch: bool = False
) -> float | None:
    """USD for a finished request's real usage (cached input and long-context tiers included)."""
    price = price_for(provider, model, config)
    if price is None:
        return None
    return price.cost(
        usage.input_tokens,
        usage.output_tokens,
        usage.cached_input_tokens,
        int(getattr(usage, "cache_write_tokens", 0) or 0),
        batch=batch,
    )


if __name__ == "__main__":
    write_mirror()

"""The facts about each built-in provider kind, written once.

The registry (import paths), the backends (default models, key and base-URL variables,
availability), routing (locality, tiers, endpoints to probe), prices (what is free),
`llm models` and `llm bench` read them from here; nothing else repeats them.

Locality is per target, never per class alone:
- a kind with `host_decides` (openai-compatible servers, ollama) is where its host is
  (providers/hosts.py): loopback → `local-server`, private network → `local-network`,
  public → `cloud` (api.openai.com is OpenAI's cloud, and so is any other public host);
- an Ollama model named `*-cloud` / `*:cloud`, or one Ollama's own listing marks with
  `remote_host`/`remote_model`, runs on Ollama's servers: `cloud`;
- the vendor kinds (anthropic, google, azure) are `cloud` whatever their base URL says: a
  base URL there is a gateway or proxy, and the data still reaches the vendor;
- a `locality:` in the instance's config wins over all of this.

`local-network` is the user's own network, not this machine: it costs nothing per token,
but `--private`, `--offline` and privacy findings keep a request on this machine and so do
not use it, unless the config says the network is trusted (`privacy.trust_local_network:
true`). The rule is routing.context's `is_local()`.

Plain data and functions only: `llm route` imports this module, so nothing heavy here.
The table itself is manifest_data.py's (re-exported here).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from types import ModuleType
from typing import Any

# The table; callers read every fact through this module, so it re-exports it (__all__).
from convergio_llm.providers.manifest_data import (
    CATALOGUE_TIERS,
    CLOUD_PREFERENCE,
    DEFAULT_TIERS,
    LOCAL_PREFERENCE,
    MANIFEST,
    OLLAMA_CLOUD_SUFFIXES,
    OPENAI_HOST,
    PRIVACY_OF,
    KindFacts,
    Locality,
    Privacy,
)
from convergio_llm.providers.values import AVAILABLE, Availability

__all__ = [
    "CATALOGUE_TIERS",
    "CLOUD_PREFERENCE",
    "DEFAULT_TIERS",
    "LOCAL_PREFERENCE",
    "MANIFEST",
    "OLLAMA_CLOUD_SUFFIXES",
    "OPENAI_HOST",
    "PRIVACY_OF",
    "KindFacts",
    "Locality",
    "Privacy",
    "availability",
    "azure_availability",
    "base_url_of",
    "catalogue_for",
    "catalogue_of",
    "default_ref",
    "facts",
    "hint_for_missing_key",
    "hint_for_missing_package",
    "host_of",
    "import_optional",
    "importable",
    "install_command",
    "is_ollama_cloud_model",
    "is_vendor_host",
    "key_set",
    "locality_of",
    "missing_module",
    "offline_availability",
    "openai_key_missing",
    "openai_offline_availability",
    "region_of",
    "require_modules",
    "secret_env_of",
    "with_overrides",
]


def facts(kind: str) -> KindFacts | None:
    return MANIFEST.get(kind)


def secret_env_of(kind: str) -> tuple[str, ...]:
    """Every variable holding this kind's credentials (registered for scrubbing)."""
    known = MANIFEST.get(kind)
    if known is None:
        return ()
    return tuple(v for group in known.key_env for v in group) + known.secret_env


def catalogue_of(
    kind: str, settings: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> Mapping[str, str] | None:
    """The built-in tier → model catalogue for an instance, None when none applies: a kind
    this manifest does not know, or an OpenAI-compatible server that is not OpenAI's."""
    known = MANIFEST.get(kind)
    if known is None:
        return None
    if known.host_decides and known.locality == "cloud":
        host = host_of(kind, settings, environ)
        if host is not None and not is_vendor_host(kind, host):
            return None
    return known.tiers


def default_ref(tier: str) -> str:
    """`medium` → `anthropic:claude-haiku-4-5`."""
    kind, catalogue_tier = DEFAULT_TIERS[tier]
    return f"{kind}:{MANIFEST[kind].tiers[catalogue_tier]}"


# -- hints: one wording, whichever command needs it ---------------------------------------


def install_command(kind: str) -> str:
    known = MANIFEST.get(kind)
    extra = known.extra if known else None
    return f"pip install 'convergio-llm[{extra}]'" if extra else "pip install convergio-llm"


def hint_for_missing_package(kind: str, module: str | None = None) -> str:
    """`package 'google.genai' is not installed: pip install 'convergio-llm[google]'`."""
    known = MANIFEST.get(kind)
    missing = module or (known.modules[0] if known and known.modules else kind)
    return f"package '{missing}' is not installed: {install_command(kind)}"


def hint_for_missing_key(kind: str, key_env: str | None = None) -> str:
    """`no API key: set ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN` (or the instance's own
    `api_key_env` variable, when the config names one)."""
    if key_env:
        return f"no API key: set {key_env} (providers.*.api_key_env)"
    known = MANIFEST.get(kind)
    groups = known.key_env if known else ()
    wanted = " or ".join(" + ".join(group) for group in groups) or "its API key"
    return f"no API key: set {wanted}"


# -- availability: one definition for route, run, models and bench ------------------------


def importable(*modules: str) -> str | None:
    """The first of `modules` that cannot be imported, or None. Asks `find_spec`, which
    imports nothing but a dotted name's parents (`google` for `google.genai`): a missing
    parent raises, and counts as missing too."""
    import importlib.util

    for module in modules:
        try:
            if importlib.util.find_spec(module) is None:
                return module
        except (ImportError, ValueError):
            return module
    return None


def missing_module(kind: str) -> str | None:
    """The first module this kind needs that cannot be imported (looked up, not imported)."""
    known = MANIFEST.get(kind)
    return importable(*known.modules) if known else None


def require_modules(kind: str, provider: str | None = None) -> None:
    """Raise ProviderUnavailable (exit 3) naming the extra when a needed module is missing."""
    missing = missing_module(kind)
    if missing:
        from convergio_llm.providers.errors import ProviderUnavailable

        raise ProviderUnavailable(hint_for_missing_package(kind, missing), provider or kind)


def import_optional(module: str, extra: str, purpose: str) -> ModuleType:
    """Import an optional dependency, or raise ProviderUnavailable saying what to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        from convergio_llm.providers.errors import ProviderUnavailable

        raise ProviderUnavailable(
            f"{purpose} needs the package '{module}': pip install 'convergio-llm[{extra}]'",
            purpose,
        ) from None


def key_set(
    kind: str, key_env: str | None = None, environ: Mapping[str, str] | None = None
) -> bool:
    env = os.environ if environ is None else environ
    if key_env:
        return bool(env.get(key_env))
    known = MANIFEST.get(kind)
    groups = known.key_env if known else ()
    return not groups or any(all(env.get(v) for v in group) for group in groups)


def availability(
    kind: str,
    settings: Mapping[str, Any],
    environ: Mapping[str, str] | None = None,
    key_required: bool = True,
) -> Availability:
    """Package importable, then key present: what every cloud backend's `available()` is."""
    missing = missing_module(kind)
    if missing:
        return Availability(False, hint_for_missing_package(kind, missing))
    key_env = settings.get("api_key_env")
    if key_required and not key_set(kind, str(key_env) if key_env else None, environ):
        hint = hint_for_missing_key(kind, str(key_env) if key_env else None)
        return Availability(False, hint, needs_key=True)
    return AVAILABLE


def azure_availability(name: str, settings: Mapping[str, Any]) -> Availability:
    """Azure's `available()`: the package and key (as every cloud kind), then an endpoint."""
    found = availability("azure", settings)
    endpoint_env = str(MANIFEST["azure"].base_url_env)
    if not (settings.get("base_url") or os.environ.get(endpoint_env)):
        no_endpoint = f"no endpoint: set {endpoint_env} (or providers.{name}.base_url)"
        return Availability(False, f"{found.reason}; {no_endpoint}" if not found else no_endpoint)
    return found


def openai_key_missing(settings: Mapping[str, Any]) -> Availability | None:
    """Why an `openai` instance cannot be called for want of its package or key, or None.
    Only api.openai.com itself needs a key: a compatible server is called without one."""
    missing = missing_module("openai")
    if missing:
        return Availability(False, hint_for_missing_package("openai", missing))
    custom = settings.get("api_key_env")
    if os.environ.get(str(custom or MANIFEST["openai"].key_env[0][0])):
        return None
    if not is_vendor_host("openai", host_of("openai", settings) or OPENAI_HOST):
        return None
    return Availability(
        False, hint_for_missing_key("openai", str(custom) if custom else None), needs_key=True
    )


def openai_offline_availability(settings: Mapping[str, Any]) -> Availability:
    """The `openai` kind's `available_offline()`: a server on this side is not probed."""
    if (missing := openai_key_missing(settings)) is not None:
        return missing
    if locality_of("openai", settings) in ("local-server", "local-network"):
        base_url = settings.get("base_url") or os.environ.get(str(MANIFEST["openai"].base_url_env))
        return Availability(False, f"not probed (--offline); server would be at {base_url}")
    return AVAILABLE


def offline_availability(kind: str, name: str, settings: Mapping[str, Any]) -> Availability | None:
    """What the backend of a built-in cloud kind answers to `available_offline()`, without
    importing it: `llm route` asks every cloud provider, to say why each was skipped, and
    loading four backends cost it ~8 ms. None for the kinds whose class must say."""
    if kind in ("anthropic", "google"):
        return availability(kind, settings)
    if kind == "azure":
        return azure_availability(name, settings)
    if kind == "openai":
        return openai_offline_availability(settings)
    return None


def with_overrides(defaults: Mapping[Any, str], settings: Mapping[str, Any]) -> dict[str, str]:
    """A backend's tier → model catalogue: its defaults, merged with the config's `models:`."""
    merged = dict(defaults)
    overrides = settings.get("models") or {}
    merged.update({k: v for k, v in overrides.items() if k in CATALOGUE_TIERS})
    return merged


def catalogue_for(kind: str, settings: Mapping[str, Any]) -> dict[str, str] | None:
    """`catalogue()` of a built-in cloud kind's backend, without importing it (None: ask it)."""
    if kind not in CLOUD_PREFERENCE:
        return None
    return with_overrides(catalogue_of(kind, settings) or {}, settings)


# -- locality and region, per target --------------------------------------------------------


def base_url_of(
    kind: str, settings: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> str | None:
    """Where an instance of `kind` sends requests: config, then its variable, then the default."""
    env = os.environ if environ is None else environ
    configured = settings.get("base_url") or settings.get("endpoint")
    if kind == "ollama":
        configured = settings.get("host") or configured
    if configured:
        return str(configured)
    known = MANIFEST.get(kind)
    if known is None:
        return None
    from_env = env.get(known.base_url_env) if known.base_url_env else None
    return from_env or known.default_base_url


def host_of(
    kind: str, settings: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> str | None:
    """The host name an instance of `kind` connects to, or None when it has no endpoint."""
    url = base_url_of(kind, settings, environ)
    if kind == "ollama":
        from convergio_llm.providers._ollama_host import parse_ollama_host

        return parse_ollama_host(url).host
    if not url:
        return None
    from convergio_llm.providers.hosts import host_of_url

    return host_of_url(url)


def is_vendor_host(kind: str, host: str) -> bool:
    """Is `host` the kind's own service (api.openai.com, or its regional eu.api.openai.com)?"""
    known = MANIFEST.get(kind)
    if known is None or known.locality != "cloud" or not known.default_base_url:
        return False  # ollama's default host is this machine, not a vendor
    from convergio_llm.providers.hosts import host_of_url

    own = host_of_url(known.default_base_url)
    return host == own or host.endswith("." + own)


def is_ollama_cloud_model(model: str) -> bool:
    return model.lower().endswith(OLLAMA_CLOUD_SUFFIXES)


def locality_of(
    kind: str,
    settings: Mapping[str, Any],
    model: str | None = None,
    environ: Mapping[str, str] | None = None,
    remote_models: Collection[str] = (),
) -> Locality | None:
    """Where a request to this target runs; None for a kind this manifest does not know
    (a plugin: its class says). `remote_models` are those a live listing marked remote."""
    declared = settings.get("locality")
    if declared:
        return declared  # type: ignore[no-any-return]
    known = MANIFEST.get(kind)
    if known is None:
        return None
    if not known.host_decides:
        return known.locality
    if kind == "ollama" and model and (is_ollama_cloud_model(model) or model in remote_models):
        return "cloud"
    host = host_of(kind, settings, environ)
    if host is None:
        return known.locality
    if is_vendor_host(kind, host):
        return "cloud"
    from convergio_llm.providers.hosts import host_class

    return {"loopback": "local-server", "private": "local-network"}.get(  # type: ignore[return-value]
        host_class(host), "cloud"
    )


def region_of(
    kind: str, settings: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> str | None:
    """The declared region (`providers.<name>.region`), else what the endpoint states."""
    declared = settings.get("region")
    if declared:
        return str(declared)
    host = host_of(kind, settings, environ)
    if not host:
        return None
    from convergio_llm.providers.regions import region_from_host

    return region_from_host(host)

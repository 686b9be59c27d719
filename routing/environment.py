"""Facts about the machine a decision depends on: platform, offline switches, reachability.

Reachability is a plain TCP connect (no TLS, no HTTP, nothing sent), to every endpoint
at once on threads, bounded by one short deadline. Results are cached on disk for a
few seconds so a shell loop of `llm route` calls does not probe on every prompt.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from typing import Any, TypeAlias

# Paths are plain strings here: pathlib costs ~3 ms of `llm route`'s start-up.
StrPath: TypeAlias = "str | os.PathLike[str]"

APPLE_SILICON = "apple-silicon"
OTHER = "other"
PLATFORMS = (APPLE_SILICON, OTHER)
DEFAULT_PROBE_TIMEOUT_S = 0.3
DEFAULT_PROBE_TTL_S = 30.0

Endpoint = tuple[str, int]


def detect_platform() -> str:
    """`apple-silicon` on arm64 macOS (where mlx runs on the GPU), else `other`."""
    import sys

    if sys.platform == "darwin" and os.uname().machine == "arm64":
        return APPLE_SILICON
    return OTHER


def offline_from_env(environ: Mapping[str, str]) -> bool:
    return environ.get("CONVERGIO_LLM_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def endpoint_of(url: str) -> Endpoint | None:
    """`https://host:8443/v1` → (`host`, 8443); None when there is no host."""
    from convergio_llm.providers.hosts import split_url

    scheme, host, port = split_url(url)
    if not host:
        return None
    return host, port if port is not None else (80 if scheme == "http" else 443)


def cloud_endpoint(
    kind: str, settings: Mapping[str, Any], environ: Mapping[str, str]
) -> Endpoint | None:
    """The endpoint a cloud provider of `kind` would connect to, from config or environment
    (the variables and defaults are providers/manifest.py's)."""
    from convergio_llm.providers.manifest import base_url_of

    base = base_url_of(kind, settings, environ)
    if kind == "ollama":
        from convergio_llm.providers._ollama_host import parse_ollama_host

        host = parse_ollama_host(base)
        return host.host, host.port
    return endpoint_of(base) if base else None


def ollama_endpoint(environ: Mapping[str, str]) -> Endpoint:
    from convergio_llm.providers._ollama_host import parse_ollama_host

    host = parse_ollama_host(environ.get("OLLAMA_HOST"))
    return host.host, host.port


def probe(endpoints: Iterable[Endpoint], timeout_s: float) -> dict[Endpoint, bool]:
    """Try a TCP connect to every endpoint in parallel; whatever has not answered by the
    deadline (a slow DNS lookup included) counts as unreachable."""
    import socket
    import threading

    targets = list(dict.fromkeys(endpoints))
    results: dict[Endpoint, bool] = dict.fromkeys(targets, False)
    done = threading.Event()
    lock = threading.Lock()
    pending = [len(targets)]

    def attempt(endpoint: Endpoint) -> None:
        try:
            with socket.create_connection(endpoint, timeout=timeout_s):
                ok = True
        except OSError:
            ok = False
        with lock:
            results[endpoint] = ok
            pending[0] -= 1
            if ok or pending[0] == 0:
                done.set()

    for endpoint in targets:
        threading.Thread(target=attempt, args=(endpoint,), daemon=True).start()
    if targets:
        done.wait(timeout_s + 0.05)
    with lock:
        return dict(results)


def reachable(
    endpoints: Iterable[Endpoint],
    timeout_s: float = DEFAULT_PROBE_TIMEOUT_S,
    ttl_s: float = DEFAULT_PROBE_TTL_S,
    cache_file: StrPath | None = None,
) -> dict[Endpoint, bool]:
    """`probe()`, answered from the on-disk cache for endpoints probed within `ttl_s`."""
    targets = list(dict.fromkeys(endpoints))
    cached = _read_cache(cache_file, ttl_s) if cache_file is not None and ttl_s > 0 else {}
    known = {e: cached[_key(e)][1] for e in targets if _key(e) in cached}
    missing = [e for e in targets if e not in known]
    if missing:
        fresh = probe(missing, timeout_s)
        known.update(fresh)
        if cache_file is not None and ttl_s > 0:
            now = time.time()
            entries = {**cached, **{_key(e): (now, ok) for e, ok in fresh.items()}}
            _write_cache(cache_file, entries)
    return {e: known[e] for e in targets}


def _key(endpoint: Endpoint) -> str:
    return f"{endpoint[0]}:{endpoint[1]}"


def _read_cache(path: StrPath, ttl_s: float) -> dict[str, tuple[float, bool]]:
    import json

    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        now = time.time()
        return {
            str(k): (float(v[0]), bool(v[1]))
            for k, v in data.items()
            if isinstance(v, list) and len(v) == 2 and 0 <= now - float(v[0]) < ttl_s
        }
    except (OSError, ValueError, TypeError, AttributeError):
        return {}


def _write_cache(path: StrPath, entries: Mapping[str, tuple[float, bool]]) -> None:
    import json

    try:
        folder, name = os.path.split(path)
        os.makedirs(folder, exist_ok=True)
        tmp = os.path.join(folder, f".{name}.{os.getpid()}")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump({k: list(v) for k, v in entries.items()}, fh)
        os.replace(tmp, path)  # atomic: parallel `llm route` calls never read half a file
    except OSError:
        pass  # a read-only cache dir only costs a probe next time

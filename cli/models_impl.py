"""The body of `llm models`."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from typing import Any

from convergio_llm.cli.context import Environment
from convergio_llm.cli.exit_status import ExitStatus
from convergio_llm.cli.io import write_json
from convergio_llm.providers.base import Availability, ModelInfo, Provider
from convergio_llm.providers.errors import InputError, LLMError, scrub
from convergio_llm.providers.registry import split_ref


def _survey(provider: Provider, offline: bool) -> tuple[Availability, list[ModelInfo]]:
    """Availability and models of one provider; a failure becomes the reason, not a crash."""
    try:
        availability = provider.available_offline() if offline else provider.available()
    except LLMError as exc:
        availability = Availability(False, str(exc))
    try:
        models = provider.models(live=bool(availability) and not offline)
    except LLMError as exc:
        if availability:
            availability = Availability(False, str(exc))
        models = provider.models(live=False)
    if not models:
        # An instance with nothing to list (server down, --offline, an empty /v1/models) is
        # still shown, as one row with an empty model name and the reason.
        if availability:
            availability = Availability(False, "the server lists no models (or set models:)")
        models = [provider.model_info("")]
    return availability, models


def list_models(
    env: Environment, json_out: bool, offline: bool, only: list[str], available_only: bool
) -> int:
    registry = env.registry
    names = only or registry.names()
    providers = [registry.get(n) for n in names]
    # Probes are network round trips: run them side by side, not one after another.
    with ThreadPoolExecutor(max_workers=max(1, len(providers))) as pool:
        surveys = list(pool.map(lambda p: _survey(p, offline), providers))
    rows: list[dict[str, Any]] = []
    for availability, models in surveys:
        for info in models:
            if available_only and not availability:
                continue
            row = asdict(info)
            row["available"] = availability.ok
            row["reason"] = availability.reason or None
            rows.append(row)
    if json_out:
        write_json(env.stdout, rows)
        return int(ExitStatus.OK)
    from tabulate import tabulate

    table = [
        [
            r["provider"],
            r["name"] or "(none listed)",
            r["tier"] or "",
            r["locality"],
            r["privacy"],
            ("yes" if r["available"] else "no") + (" (loaded)" if r.get("loaded") else ""),
            scrub(r["reason"] or ""),
        ]
        for r in rows
    ]
    headers = ["provider", "model", "tier", "locality", "privacy", "available", "why not"]
    env.stdout.write(tabulate(table, headers=headers) + "\n")
    return int(ExitStatus.OK)


def load_or_unload(
    env: Environment, preload: str | None, unload: str | None, json_out: bool
) -> int:
    ref = preload or unload
    assert ref is not None
    name, model = split_ref(ref)
    provider = env.registry.get(name)
    action = getattr(provider, "preload" if preload else "unload", None)
    if action is None:
        raise InputError(
            f"provider '{name}' does not support --{'preload' if preload else 'unload'}"
        )
    model = model or provider.default_model()
    if not model:
        raise InputError(f"name a model: {name}:<model>")
    result = action(model)
    if json_out:
        write_json(
            env.stdout,
            {
                "provider": name,
                "model": model,
                "action": "preload" if preload else "unload",
                "result": result,
            },
        )
    else:
        env.warn(f"{'loaded' if preload else 'unloaded'} {name}:{model}")
    return int(ExitStatus.OK)

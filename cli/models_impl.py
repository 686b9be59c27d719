"""The body of `llm models`."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from typing import Any

from convergio_llm.cli.context import Environment
from convergio_llm.cli.exit_status import ExitStatus
from convergio_llm.cli.io import write_json
from convergio_llm.providers.base import Availability, ModelInfo, Provider
from convergio_llm.providers.errors import InputError, LLMError
from convergio_llm.providers.manifest import PRIVACY_OF
from convergio_llm.providers.registry import split_ref


def _survey(provider: Provider, offline: bool) -> tuple[Availability, list[ModelInfo]]:
    # Every provider's missing optional package is its available() reason (manifest.py);
    # an ImportError still reaching here would be a plugin's, and is shown the same way.
    """Availability and models of one provider; a failure becomes the reason, not a crash."""
    try:
        availability = provider.available_offline() if offline else provider.available()
    except (LLMError, ImportError) as exc:
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
    from convergio_llm.routing.cooldown import cooldown_file, read

    cooling = read(cooldown_file())  # providers that asked for a pause (429/529/5xx)
    rows: list[dict[str, Any]] = []
    for provider, (availability, models) in zip(providers, surveys, strict=True):
        region = registry.region_of(provider.name)
        for info in models:
            if available_only and not availability:
                continue
            row = asdict(info)
            # The one locality rule (registry.locality_of), unless the listing knew better.
            if info.locality == provider.locality:
                row["locality"] = registry.locality_of(provider.name, info.name)
                row["privacy"] = PRIVACY_OF.get(row["locality"], info.privacy)
            row["region"] = region
            row["available"] = availability.ok
            row["reason"] = availability.reason or None
            entry = cooling.get(info.provider)
            row["cooling_down"] = None if entry is None else entry.to_json()
            rows.append(row)
    if json_out:
        write_json(env.stdout, rows)
        return int(ExitStatus.OK)
    from convergio_llm.cli.width import table, terminal_width

    cells = [
        [
            r["provider"],
            r["name"] or "(none listed)",
            r["tier"] or "",
            r["locality"],
            r["region"] or "",
            ("yes" if r["available"] else "no") + (" (loaded)" if r.get("loaded") else ""),
            (r["reason"] or "") + _cooling_note(r["cooling_down"]),
        ]
        for r in rows
    ]
    # privacy follows from locality (providers/manifest.py): it is in --json, not a column
    headers = ["provider", "model", "tier", "locality", "region", "available", "why not"]
    env.stdout.write(table(cells, headers, terminal_width(env.stdout)) + "\n")
    return int(ExitStatus.OK)


def _cooling_note(entry: dict[str, Any] | None) -> str:
    return "" if entry is None else f" cooling down until {entry['until']} ({entry['reason']})"


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

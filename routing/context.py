"""Everything outside the prompt that a decision depends on, gathered once per process.

Each fact is found on first use and kept; a test (or `--platform`) pins one by putting
it in `facts` before asking. Nothing here probes the network or imports an engine
until a rule asks for that fact. The keys a caller may pin:

    platform          "apple-silicon" | "other"
    available         {provider: bool}, instead of provider.available()
    locality          {provider: "in-process" | "local-server" | "local-network" | "cloud"}
    regions           {provider: region | None}, instead of the config / endpoint
    catalogue         {provider: {"simple"|"balanced"|"quality": model}}
    ollama_answers    bool, instead of a TCP connect to OLLAMA_HOST
    reachable         {provider: bool}, instead of probing its endpoint
    endpoints         {provider: (host, port)}, what to probe for it
    budget_remaining  float | None, instead of routing.budget.remaining_budget()
    cooldown          {provider: routing.cooldown.Cooldown}, instead of reading cooldown.json
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from convergio_llm.providers.registry import Registry
from convergio_llm.providers.values import Availability
from convergio_llm.routing.config import Config

if TYPE_CHECKING:
    from convergio_llm.providers.base import Provider

_UNSET = object()
ON_THIS_MACHINE = ("in-process", "local-server")


class Context:
    # A plain class, not a dataclass: defining one costs `llm route` ~0.5 ms at start-up.
    def __init__(
        self,
        config: Config,
        registry: Registry,
        facts: dict[str, Any] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.config = config
        self.registry = registry
        # Facts a caller may pin (tests, `--platform`, `--offline`); absent means "find out".
        self.facts: dict[str, Any] = {} if facts is None else facts
        self.environ: Mapping[str, str] = os.environ if environ is None else environ
        self._memo: dict[Any, Any] = {}

    @classmethod
    def create(cls, config: Config) -> Context:
        return cls(config=config, registry=Registry(config.providers))

    def _once(self, key: Any, find: Any) -> Any:
        value = self._memo.get(key, _UNSET)
        if value is _UNSET:
            value = self._memo[key] = find()
        return value

    def _pinned(self, fact: str, name: str) -> Any:
        table = self.facts.get(fact)
        return table.get(name, _UNSET) if isinstance(table, Mapping) else _UNSET

    def platform(self) -> str:
        if "platform" not in self.facts:
            from convergio_llm.routing.environment import detect_platform

            self.facts["platform"] = detect_platform()
        return str(self.facts["platform"])

    def offline_from_env(self) -> bool:
        from convergio_llm.routing.environment import offline_from_env

        return offline_from_env(self.environ)

    def provider(self, name: str) -> Provider:
        return self.registry.get(name)

    def available(self, name: str) -> Availability:
        pinned = self._pinned("available", name)
        if pinned is not _UNSET:
            return pinned if isinstance(pinned, Availability) else Availability(bool(pinned))
        return self._once(("available", name), lambda: self._check(name))  # type: ignore[no-any-return]

    def _check(self, name: str) -> Availability:
        from convergio_llm.providers.errors import LLMError

        try:
            return self.registry.available_offline(name)  # built-in cloud kinds: not imported
        except (LLMError, ImportError, OSError) as exc:
            return Availability(False, str(exc))

    def locality(self, name: str, model: str | None = None) -> str:
        """Where `name:model` runs (providers/manifest.py's rules, via the registry)."""
        pinned = self._pinned("locality", name)
        if pinned is not _UNSET:
            return str(pinned)
        return self._once(  # type: ignore[no-any-return]
            ("locality", name, model),
            lambda: self.registry.locality_of(name, model, self.environ),
        )

    def is_local(self, name: str, model: str | None = None) -> bool:
        """Does a request to this target stay on this machine? The user's own network counts
        only when the config trusts it (`privacy.trust_local_network: true`): a LAN host is
        someone else's machine as far as `--private` and privacy findings are concerned."""
        where = self.locality(name, model)
        if where == "local-network":
            return bool(self.config.get("privacy.trust_local_network"))
        return where in ON_THIS_MACHINE

    def region(self, name: str) -> str | None:
        pinned = self._pinned("regions", name)
        if pinned is not _UNSET:
            return None if pinned is None else str(pinned)
        return self._once(("region", name), lambda: self.registry.region_of(name, self.environ))  # type: ignore[no-any-return]

    def residency_refusal(self, name: str, model: str | None = None) -> str | None:
        """Why `privacy.residency` rules this target out, or None when it may be used.
        Only targets that leave this machine are restricted; an undeclared region is refused."""
        allowed = self.config.get("privacy.residency")
        if not allowed or self.is_local(name, model):
            return None
        from convergio_llm.providers.regions import residency_allows

        region = self.region(name)
        if residency_allows(region, allowed):
            return None
        wanted = ", ".join(allowed)
        if region is None:
            return f"residency: no region declared (providers.{name}.region), need {wanted}"
        return f"residency: region {region} is outside {wanted}"

    def default_model(self, name: str) -> str | None:
        pinned = self._pinned("catalogue", name)
        if pinned is not _UNSET:
            return next((pinned[t] for t in ("simple", "balanced", "quality") if t in pinned), None)
        return self._once(("model", name), lambda: self.provider(name).default_model())  # type: ignore[no-any-return]

    def catalogue(self, name: str) -> Mapping[str, str]:
        pinned = self._pinned("catalogue", name)
        if pinned is not _UNSET:
            return dict(pinned)
        return self._once(("catalogue", name), lambda: self.registry.catalogue(name))  # type: ignore[no-any-return]

    def ollama_answers(self) -> bool:
        if "ollama_answers" not in self.facts:
            from convergio_llm.routing.environment import ollama_endpoint

            endpoint = ollama_endpoint(self.environ)
            self.facts["ollama_answers"] = self._reach({"ollama": endpoint}).get("ollama", False)
        return bool(self.facts["ollama_answers"])

    def reachable(self, names: Iterable[str]) -> dict[str, bool]:
        """Which of these cloud providers answer a TCP connect (pinned facts win)."""
        out: dict[str, bool] = {}
        to_probe: dict[str, tuple[str, int]] = {}
        for name in names:
            pinned = self._pinned("reachable", name)
            if pinned is not _UNSET:
                out[name] = bool(pinned)
            elif ("reachable", name) in self._memo:
                out[name] = self._memo[("reachable", name)]
            elif (endpoint := self.endpoint(name)) is not None:
                to_probe[name] = endpoint
            else:
                out[name] = False
        for name, ok in self._reach(to_probe).items():
            self._memo[("reachable", name)] = out[name] = ok
        return out

    def cooling_down(self, names: Iterable[str]) -> dict[str, Any]:
        """Which of these providers are cooling down (routing/cooldown.py), name → Cooldown.
        The file is read once; a pinned `cooldown` fact ({} for --no-cooldown) wins."""
        if "cooldown" not in self.facts:
            from convergio_llm.routing.cooldown import cooldown_file, read

            self.facts["cooldown"] = read(cooldown_file())
        table = self.facts["cooldown"]
        return {name: table[name] for name in names if name in table}

    def endpoint(self, name: str) -> tuple[str, int] | None:
        pinned = self._pinned("endpoints", name)
        if pinned is not _UNSET:
            return None if pinned is None else (str(pinned[0]), int(pinned[1]))
        from convergio_llm.routing.environment import cloud_endpoint

        kind = self.registry.kind_of(name)
        settings = self.config.providers.get(name) or {}
        return cloud_endpoint(kind, settings, self.environ)

    def _reach(self, endpoints: Mapping[str, tuple[str, int]]) -> dict[str, bool]:
        if not endpoints:
            return {}
        from convergio_llm.providers.dirs import user_dir_str
        from convergio_llm.routing import environment as envmod

        timeout = float(self.config.get("routing.probe_timeout_s", envmod.DEFAULT_PROBE_TIMEOUT_S))
        ttl = float(self.config.get("routing.probe_ttl_s", envmod.DEFAULT_PROBE_TTL_S))
        cache_file = os.path.join(user_dir_str("cache"), "reachability.json")
        results = envmod.reachable(endpoints.values(), timeout, ttl, cache_file)
        return {name: results[endpoint] for name, endpoint in endpoints.items()}

    def budget_remaining(self) -> float | None:
        if "budget_remaining" not in self.facts:
            if not self.config.get("budgets"):
                # No budgets section, no limit: skip importing the budget code (start-up).
                self.facts["budget_remaining"] = None
                return None
            from convergio_llm.routing.budget import remaining_budget

            self.facts["budget_remaining"] = remaining_budget(self.config)
        value = self.facts["budget_remaining"]
        return None if value is None else float(value)

    def privacy_patterns(self) -> list[re.Pattern[str]]:
        def compile_them() -> list[re.Pattern[str]]:
            from convergio_llm.routing.privacy_patterns import compile_patterns

            return compile_patterns(self.config.get("privacy.patterns") or ())

        return self._once("privacy_patterns", compile_them)  # type: ignore[no-any-return]

    def estimate_cost(
        self, provider: str, model: str, tokens_in: int, tokens_out: int
    ) -> float | None:
        key = ("cost", provider, model, tokens_in, tokens_out)
        if key not in self._memo:
            priced = any(k.startswith(f"{provider}:") for k in self.config.get("prices") or {})
            if self.locality(provider, model) != "cloud" and not priced:
                self._memo[key] = 0.0  # the user's own hardware: prices.py says the same
            else:
                from convergio_llm.providers.prices import estimate_cost

                self._memo[key] = estimate_cost(provider, model, tokens_in, tokens_out, self.config)
        return self._memo[key]  # type: ignore[no-any-return]

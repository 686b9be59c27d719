"""The boundary a request must stay inside, worked out where the request leaves.

`decide()` already keeps private and offline requests local, but a decision reaches
`execute()` from stdin too, and stdin is untrusted: an edited `local_only: false`, a cloud
fallback or a cloud primary must not widen what the command line, the config or the
content require. So the executor asks this module, for every target it is about to try:

    local_only   --private, --offline, config privacy.required / offline,
                 CONVERGIO_LLM_OFFLINE, or the decision's own local_only
                 (a decision can narrow the boundary, never widen it)
    the scan     before a cloud target, everything sent (system, every turn) is scanned
                 with the config's privacy settings; a finding refuses the cloud unless
                 the user chose the cloud for this request (-m on the command line,
                 or --no-private), in which case one notice on stderr says it goes anyway
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from convergio_llm.providers.errors import NoProviderAvailable

if TYPE_CHECKING:
    from convergio_llm.providers.values import Request
    from convergio_llm.routing.context import Context
    from convergio_llm.routing.decision import Decision
    from convergio_llm.routing.rules import Policy, PrivacyConfig


class BoundaryRefused(NoProviderAvailable):
    """A target across the boundary the request requires: nothing was sent to it (exit 3)."""


class Boundary(NamedTuple):
    # Why the request must not leave this machine, or None when the cloud is allowed.
    local_only: str | None = None
    # The user named the cloud for this request: findings are announced, not enforced.
    explicit_cloud: bool = False
    # How to scan content bound for the cloud; None: no scan (privacy.auto_detect false).
    privacy: PrivacyConfig | None = None
    # A private-network host counts as this machine only when config trusts the LAN.
    trust_local_network: bool = False


def required_boundary(context: Context, policy: Policy, decision: Decision) -> Boundary:
    """The boundary for this request, from the flags, the config and the decision."""
    from convergio_llm.routing.rules import privacy_config

    config = context.config
    reasons: list[str] = []
    if policy.private:
        reasons.append("--private")
    elif policy.private is None and config.get("privacy.required"):
        reasons.append("config privacy.required")
    if policy.offline:
        reasons.append("--offline")
    elif policy.offline is None and config.get("offline"):
        reasons.append("config offline")
    elif policy.offline is None and context.offline_from_env():
        reasons.append("CONVERGIO_LLM_OFFLINE")
    if decision.local_only:
        reasons.append("the decision is local-only")
    privacy = privacy_config(context)
    return Boundary(
        local_only=", ".join(reasons) or None,
        explicit_cloud=policy.private is False or policy.model is not None,
        privacy=privacy if privacy.auto else None,
        trust_local_network=bool(config.get("privacy.trust_local_network")),
    )


def private_kinds(request: Request, privacy: PrivacyConfig) -> list[str]:
    """The kinds of private data in everything the request sends (system and all turns)."""
    from convergio_llm.routing.privacy import scan

    text = "\n".join(m.content for m in request.messages)
    found = scan(text, terms=privacy.terms, patterns=privacy.patterns, ignore=privacy.ignore)
    return list(dict.fromkeys(f.kind for f in found))

"""Data residency: the region a provider instance keeps data in, and which zone that is.

A region is what the instance's config declares (`providers: {azure: {region: westeurope}}`,
or a zone directly: `region: eu`), else what its endpoint itself says (OpenAI's EU endpoint
`eu.api.openai.com`, a Vertex AI `europe-west4-aiplatform.googleapis.com`, a Bedrock
`bedrock-runtime.eu-central-1.amazonaws.com`), else nothing: an Azure resource URL and a
self-hosted server name no region, and an undeclared region is never assumed to be allowed.

`privacy.residency: [eu]` lists zones or exact region names a cloud target must be in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Cloud region names (Azure, Google Cloud, AWS) → the zone whose law applies there.
# EU means the 27 member states; the UK, Switzerland and Norway are zones of their own.


def _names(*lines: str) -> frozenset[str]:
    return frozenset(" ".join(lines).split())


ZONES: dict[str, frozenset[str]] = {
    "eu": _names(
        # Azure
        "westeurope northeurope swedencentral swedensouth francecentral francesouth",
        "germanywestcentral germanynorth italynorth polandcentral spaincentral austriaeast",
        "belgiumcentral denmarkeast finlandcentral greececentral",
        # Google Cloud
        "europe-west1 europe-west3 europe-west4 europe-west8 europe-west9 europe-west10",
        "europe-west12 europe-north1 europe-north2 europe-central2 europe-southwest1",
        # AWS
        "eu-west-1 eu-west-3 eu-central-1 eu-north-1 eu-south-1 eu-south-2",
    ),
    "uk": _names("uksouth ukwest europe-west2 eu-west-2"),
    "ch": _names("switzerlandnorth switzerlandwest europe-west6 eu-central-2"),
    "no": _names("norwayeast norwaywest"),
    "us": _names(
        "eastus eastus2 westus westus2 westus3 centralus northcentralus southcentralus",
        "us-central1 us-east1 us-east4 us-west1 us-east-1 us-east-2 us-west-2",
    ),
}

_ENDPOINT_REGION = (
    re.compile(r"^(?P<region>eu|us)\.api\.openai\.com$"),
    re.compile(r"^(?P<region>[a-z]+-[a-z]+\d+)-aiplatform\.googleapis\.com$"),
    re.compile(r"^bedrock(?:-runtime)?\.(?P<region>[a-z]+-[a-z]+-\d)\.amazonaws\.com$"),
)


def zone_of(region: str) -> str | None:
    """`westeurope` → `eu`; a zone name is its own zone; an unknown region → None."""
    name = region.strip().lower()
    if name in ZONES:
        return name
    return next((zone for zone, regions in ZONES.items() if name in regions), None)


def region_from_host(host: str) -> str | None:
    """The region an endpoint's host name states, if it states one."""
    for pattern in _ENDPOINT_REGION:
        match = pattern.match(host.lower())
        if match:
            return match["region"]
    return None


def residency_allows(region: str | None, allowed: Iterable[str]) -> bool:
    """Is data kept in `region` allowed by `privacy.residency` (zones or exact regions)?"""
    if not region:
        return False
    wanted = {a.strip().lower() for a in allowed}
    name = region.strip().lower()
    return name in wanted or zone_of(name) in wanted

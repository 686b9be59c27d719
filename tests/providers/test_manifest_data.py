"""The table of built-in kinds (providers/manifest_data.py) is whole and self-consistent."""

from __future__ import annotations

from convergio_llm.providers import manifest, manifest_data
from convergio_llm.providers.manifest_data import (
    CATALOGUE_TIERS,
    CLOUD_PREFERENCE,
    DEFAULT_TIERS,
    LOCAL_PREFERENCE,
    MANIFEST,
    PRIVACY_OF,
)


def test_every_kind_names_a_simple_model_and_a_known_locality() -> None:
    for kind, row in MANIFEST.items():
        # In-process engines ship one small model; servers and clouds one per tier.
        assert "simple" in row.tiers and set(row.tiers) <= set(CATALOGUE_TIERS), kind
        assert row.locality in PRIVACY_OF, kind
        assert row.target.startswith("convergio_llm.providers.") and ":" in row.target, kind


def test_a_kind_with_an_extra_says_what_the_extra_installs() -> None:
    for kind, row in MANIFEST.items():
        if row.extra is not None:
            assert row.modules, kind


def test_routing_defaults_point_into_the_table() -> None:
    for tier, (kind, catalogue_tier) in DEFAULT_TIERS.items():
        assert catalogue_tier in MANIFEST[kind].tiers, tier
    assert set(CLOUD_PREFERENCE) <= set(MANIFEST)
    assert set(LOCAL_PREFERENCE) <= set(MANIFEST)
    assert all(MANIFEST[k].locality == "cloud" for k in ("anthropic", "google", "azure"))


def test_manifest_serves_the_same_table() -> None:
    # Callers read the facts through providers/manifest.py; it must not hold a copy.
    assert manifest.MANIFEST is manifest_data.MANIFEST
    assert manifest.KindFacts is manifest_data.KindFacts

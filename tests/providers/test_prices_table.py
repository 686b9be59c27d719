"""prices_table.py is prices.yaml parsed ahead of time: it must say exactly what the YAML says."""

from __future__ import annotations

from convergio_llm.providers.prices import read_price_file
from convergio_llm.providers.prices_table import TABLE


def test_the_mirror_matches_prices_yaml() -> None:
    # Stale after an edit to prices.yaml: run `make prices`.
    assert read_price_file() == TABLE


def test_the_mirror_keeps_the_yaml_order_of_models() -> None:
    # Catalogues list models in the table's order, so the order is part of the mirror.
    parsed = read_price_file()
    for kind, models in parsed["models"].items():
        assert list(TABLE["models"][kind]) == list(models), kind

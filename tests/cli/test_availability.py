"""One availability, one locality, one region per target, as every command shows them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_in_process

CONFIG = """\
privacy: {residency: [eu]}
providers:
  vllm: {kind: openai, base_url: "http://gpu-box:8000/v1", models: {simple: llama-3.1-8b}}
  azure: {region: westeurope}
"""


def test_models_and_run_agree_on_the_mlx_default_model(tmp_path: Path) -> None:
    env = {"HF_HUB_CACHE": str(tmp_path / "hub")}  # empty: nothing downloaded
    listed = run_in_process("models", "--offline", "--json", "-p", "mlx", env=env)
    rows = json.loads(listed.stdout)
    assert rows and not any(r["available"] for r in rows)
    reason = rows[0]["reason"]
    assert "not in the local Hugging Face cache" in reason
    ran = run_in_process("run", "-m", "mlx", "hi", env=env)
    assert ran.returncode != 0
    assert reason in ran.stderr.decode()


def test_models_shows_locality_and_region_per_target(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    listed = run_in_process("--config", str(config), "models", "--offline", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {(r["provider"], r["name"]): r for r in json.loads(listed.stdout)}
    vllm = rows[("vllm", "llama-3.1-8b")]
    assert (vllm["locality"], vllm["privacy"], vllm["region"]) == ("local-network", "high", None)
    assert rows[("azure", "gpt-5.2")]["region"] == "westeurope"
    assert rows[("ollama", "llama3.2:3b")]["locality"] == "local-server"
    table = run_in_process(
        "--config", str(config), "models", "--offline", "-p", "azure"
    ).stdout.decode()
    assert "region" in table.splitlines()[0] and "westeurope" in table


def test_builtin_openai_at_a_loopback_base_url_costs_nothing() -> None:
    env = {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
    routed = run_in_process("route", "-m", "openai:gpt-5.2", "Summarise this", env=env)
    assert routed.returncode == 0, routed.stderr
    assert json.loads(routed.stdout)["estimated_cost_usd"] == 0.0
    listed = run_in_process("route", "-m", "openai:gpt-5.2", "Summarise this")
    assert json.loads(listed.stdout)["estimated_cost_usd"] > 0

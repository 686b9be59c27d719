"""Schema 2: each attempt's routing (score, label, deciding rule, locality), never the prompt;
the migration from schema 1; calibration from the ledger; the audit of what left the machine."""

from __future__ import annotations

import io
import json
import sqlite3
from datetime import date, datetime
from pathlib import Path

import pytest

from convergio_llm.cli.context import Environment
from convergio_llm.cli.cost_audit import audit_command
from convergio_llm.cli.route_calibrate import calibrate_command
from convergio_llm.providers.base import Request
from convergio_llm.providers.registry import Registry
from convergio_llm.routing.accounting import make_hooks
from convergio_llm.routing.config import parse_config
from convergio_llm.routing.context import Context
from convergio_llm.routing.decide import Policy, decide
from convergio_llm.routing.decision import Target
from convergio_llm.routing.execute import ExecutionFailed, execute
from convergio_llm.routing.ledger import MIGRATIONS, SCHEMA_VERSION, Ledger, Row, ledger_path
from tests.routing.test_ledger import rows


def test_a_schema_1_ledger_is_migrated_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    db = sqlite3.connect(path)
    for statement in MIGRATIONS[1]:
        db.execute(statement)
    db.execute(
        "INSERT INTO attempts (ts, provider, model, outcome) VALUES (1, 'openai', 'm', 'ok')"
    )
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    ledger = Ledger(path)
    ledger.record(
        Row("openai", "m", "ok", route_score=0.7, route_label="complex", locality="cloud")
    )
    ledger.reserve("openai", 0.5, [], held_until=2e9)
    ledger.close()
    old, new = rows(path)
    # 2 added the routing columns, 3 the reservation pid, 4 a batch reservation's end
    assert SCHEMA_VERSION == 4
    assert (old["provider"], old["route_score"], old["locality"]) == ("openai", None, None)
    assert (new["route_score"], new["route_label"], new["locality"]) == (0.7, "complex", "cloud")


def test_a_run_records_how_it_was_routed_and_never_the_prompt() -> None:
    config = parse_config("")
    context = Context(config, Registry(config.providers))
    secret = "zanzibar-platypus-4471"
    decision = decide(Request.from_prompt(f"prove {secret}"), context, Policy(model="fake:echo"))
    hooks = make_hooks(context)
    hooks.note_decision(decision)
    execute(decision, context.registry, hooks=hooks)
    (row,) = rows(ledger_path())
    assert row["route_score"] == decision.complexity["score"]
    assert row["route_label"] == decision.complexity["label"]
    assert row["route_rule"] == "override"  # -m named the model
    assert row["locality"] == "local"  # the fake provider runs in-process
    data = b"".join(p.read_bytes() for p in ledger_path().parent.glob("ledger.db*"))
    assert secret.encode() not in data


def seed_ledger() -> None:
    ledger = Ledger(ledger_path())
    today = date.today()
    ts = datetime(today.year, today.month, today.day, 12).timestamp()
    for i in range(100):
        cloud = i % 10 < 3
        ledger.record(
            Row(
                "anthropic" if cloud else "llamacpp",
                "claude-haiku-4-5" if cloud else "gemma-3-270m",
                "ok",
                ts=ts,
                route_score=i / 100,
                route_label="medium" if cloud else "simple",
                route_rule="complexity" if i % 2 else "quality",
                locality="cloud" if cloud else "local",
            )
        )
    ledger.record(Row("openai", "gpt-5", "ok", ts=ts))  # before schema 2: no locality
    ledger.close()


def environment() -> tuple[Environment, io.StringIO]:
    out = io.StringIO()
    return Environment(stdin=io.BytesIO(b""), stdout=out, stderr=io.StringIO()), out


def test_calibrate_from_the_ledger_uses_the_recorded_scores() -> None:
    seed_ledger()
    env, out = environment()
    calibrate_command(
        env, None, cloud_share="30%", quality=None, target=None, from_ledger=True,
        write=False, json_out=True,
    )  # fmt: skip
    found = json.loads(out.getvalue())
    assert found["implies"]["prompts"] == 100
    assert found["implies"]["cloud_share"] == 0.3
    assert 0.69 < found["thresholds"]["medium"] < 0.70  # between the scores 0.69 and 0.70


def test_the_audit_says_what_left_the_machine_to_whom_and_why() -> None:
    seed_ledger()
    env, out = environment()
    assert audit_command(env, since=None, until=None, json_out=True) == 0
    report = json.loads(out.getvalue())
    assert report["attempts"] == {"local": 70, "cloud": 30, "unknown": 1}
    groups = {(g["provider"], g["rule"]): g["attempts"] for g in report["cloud_by_target_and_rule"]}
    # cloud rows are i % 10 in (0, 1, 2): the odd ones (1) say complexity, the rest quality
    assert groups == {("anthropic", "complexity"): 10, ("anthropic", "quality"): 20}
    assert len(report["cloud_attempts"]) == 30
    assert "prompt" not in json.dumps(report["cloud_attempts"][0])
    env, out = environment()
    audit_command(env, since=None, until=None, json_out=False)
    text = out.getvalue()
    assert "30 attempts left the machine, 70 stayed local" in text
    assert "anthropic:claude-haiku-4-5  allowed by quality" in text


def test_the_audit_of_no_ledger_is_empty_and_creates_nothing() -> None:
    env, out = environment()
    audit_command(env, since="2026-01-01", until="2026-01-31", json_out=True)
    assert json.loads(out.getvalue())["attempts"] == {"local": 0, "cloud": 0, "unknown": 0}
    assert not ledger_path().exists()


def test_an_unknown_fallback_provider_is_recorded_without_a_locality() -> None:
    config = parse_config("")
    context = Context(config, Registry(config.providers))
    decision = decide(Request.from_prompt("x"), context, Policy(model="fake:fail"))
    decision = decision._replace(fallbacks=(Target("nosuch", "m"),))
    hooks = make_hooks(context)
    hooks.note_decision(decision)
    with pytest.raises(ExecutionFailed):
        execute(decision, context.registry, hooks=hooks)
    first, second = rows(ledger_path())
    assert (first["locality"], first["route_rule"]) == ("local", "override")
    assert (second["provider"], second["locality"]) == ("nosuch", None)
    assert second["route_rule"] == "override (fallback)"

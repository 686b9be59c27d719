"""Cooldowns on disk (routing/cooldown.py), and routing leaving a cooling provider out."""

from __future__ import annotations

import json
from pathlib import Path

from convergio_llm.providers.base import Request
from convergio_llm.providers.errors import (
    BadRequest,
    Overloaded,
    ProviderTimeout,
    RateLimited,
    ServerError,
)
from convergio_llm.routing import cooldown
from convergio_llm.routing.decide import Policy, decide
from tests.routing.conftest import make_context
from tests.routing.test_decide import COMPLEX

NOW = 1_800_000_000.0


def test_errors_that_ask_for_a_pause_get_one_until_the_time_asked() -> None:
    asked = cooldown.from_error("openai", RateLimited("slow down", "openai", retry_after=120), NOW)
    assert asked is not None and asked.until == NOW + 120 and "retry-after 120" in asked.reason
    overloaded = cooldown.from_error("anthropic", Overloaded("busy", "anthropic", 529), NOW)
    assert overloaded is not None and overloaded.until == NOW + cooldown.DEFAULT_COOLDOWN_S
    failing = cooldown.from_error("google", ServerError("boom", "google", 502), NOW)
    assert failing is not None and failing.reason.startswith("502")


def test_errors_that_waiting_would_not_fix_get_none() -> None:
    quota = RateLimited("insufficient_quota", "openai", retry_after=5)
    quota.retryable = False
    for error in (
        RateLimited("no retry-after", "openai"),
        quota,
        BadRequest("bad", "openai", 400),
        ProviderTimeout("slow", "openai"),
        ServerError("malformed answer", "openai"),  # no 5xx status
    ):
        assert cooldown.from_error("openai", error, NOW) is None


def test_the_file_merges_keeps_the_later_time_and_forgets_expired(tmp_path: Path) -> None:
    path = str(tmp_path / "cooldown.json")
    cooldown.write(path, [cooldown.Cooldown("a", NOW + 10, "x")], now=NOW)
    cooldown.write(path, [cooldown.Cooldown("b", NOW + 5, "y")], now=NOW)
    cooldown.write(path, [cooldown.Cooldown("a", NOW + 3, "earlier")], now=NOW)
    assert {k: v.until for k, v in cooldown.read(path, now=NOW).items()} == {
        "a": NOW + 10,
        "b": NOW + 5,
    }
    assert set(cooldown.read(path, now=NOW + 7)) == {"a"}


def test_a_corrupt_or_missing_file_reads_as_nothing_cooling(tmp_path: Path) -> None:
    path = tmp_path / "cooldown.json"
    assert cooldown.read(str(path)) == {}
    for junk in ("{half", "[1, 2]", json.dumps({"a": {"until": "soon"}}), json.dumps({"a": 3})):
        path.write_text(junk)
        assert cooldown.read(str(path), now=NOW) == {}
    cooldown.write(str(path), [cooldown.Cooldown("a", NOW + 1, "x")], now=NOW)
    assert set(cooldown.read(str(path), now=NOW)) == {"a"}


def test_a_time_no_date_can_show_reads_as_a_day_and_nan_as_nothing(tmp_path: Path) -> None:
    path = tmp_path / "cooldown.json"
    reason = "429 rate limited"
    path.write_text(
        '{"a": {"until": Infinity, "reason": "r"}, "b": {"until": 1e300, "reason": "r"},'
        ' "c": {"until": NaN, "reason": "r"}}'.replace('"r"', json.dumps(reason))
    )
    found = cooldown.read(str(path), NOW)
    assert set(found) == {"a", "b"}
    assert {c.until for c in found.values()} == {NOW + cooldown.MAX_COOLDOWN_S}
    # Before the cap, refusing the call failed on the date: OverflowError, an internal error.
    assert "cooling down until" in str(cooldown.refusal(found["a"], NOW))


def test_routing_leaves_a_cooling_provider_out_and_says_until_when() -> None:
    entry = cooldown.Cooldown("anthropic", 4_000_000_000.0, "429 rate limited, retry-after 60 s")
    cooldown.write(cooldown.cooldown_file(), [entry])
    decision = decide(Request.from_prompt(COMPLEX), make_context(), Policy())
    assert "anthropic" not in [t.provider for t in decision.targets]
    assert decision.provider == "openai"
    offline = next(t for t in decision.trace if t.rule == "offline")
    noted = offline.looked_at["cooling_down"]["anthropic"]
    assert noted["reason"] == entry.reason and noted["until"].startswith("2096-")
    # --no-cooldown pins the fact empty: the file is ignored.
    ignored = decide(Request.from_prompt(COMPLEX), make_context(cooldown={}), Policy())
    assert ignored.provider == "anthropic"


def test_every_cloud_provider_cooling_routes_local_without_probing() -> None:
    class Exploding(dict[str, bool]):
        def get(self, *args: object) -> bool:
            raise AssertionError("probed")

    until = 4_000_000_000.0
    cooling = {n: cooldown.Cooldown(n, until, "x") for n in ("anthropic", "openai", "google")}
    decision = decide(
        Request.from_prompt(COMPLEX),
        make_context(cooldown=cooling, reachable=Exploding()),
        Policy(),
    )
    assert decision.provider == "llamacpp"
    assert not decision.local_only  # nothing forbade the cloud; it asked for a pause

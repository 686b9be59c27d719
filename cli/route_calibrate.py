"""`llm route calibrate`: set `routing.thresholds` for the user's own traffic.

    --cloud-share 30%    over a sample of prompts (the JSON lines `llm route --jsonl` reads,
                         on stdin or FILE), or
                         over the scores the ledger recorded (--from-ledger)
    --quality 95%        over a labelled file ({"prompt", "weak", "strong"}): the smallest
                         cloud share that keeps 95% of the strong model's quality
    --target MODEL       the shipped calibration for a local model (alone, or to compare)
    --write              put the thresholds into the config file

It prints the thresholds and what they imply on the same prompts.
"""

from __future__ import annotations

import json
from typing import Any

from convergio_llm.cli.context import Environment
from convergio_llm.cli.route_eval import labelled_rows, read_lines, scorer_for
from convergio_llm.providers.errors import InputError
from convergio_llm.routing import calibrate


def calibrate_command(
    env: Environment,
    file: str | None,
    *,
    cloud_share: str | None,
    quality: str | None,
    target: str | None,
    from_ledger: bool,
    write: bool,
    json_out: bool,
) -> int:
    if cloud_share is not None and quality is not None:
        raise InputError("give one of --cloud-share and --quality, not both")
    if quality is not None and from_ledger:
        raise InputError("--quality needs a labelled file; the ledger holds no outcomes")
    if from_ledger and file not in (None, "-"):
        raise InputError("give a prompt file or --from-ledger, not both")
    out: dict[str, Any] = {}
    if target is not None:
        from convergio_llm.routing.scorer import calibrated_thresholds, strength_of

        model = target.partition(":")[2] or target
        out["shipped"] = {
            "target": target,
            "strength": strength_of(model),
            "thresholds": calibrated_thresholds(model),
        }
    if cloud_share is None and quality is None:
        if target is None:
            raise InputError("give --cloud-share, --quality or --target")
        thresholds = out["shipped"]["thresholds"]
    elif cloud_share is not None:
        share = calibrate.parse_share(cloud_share, "--cloud-share")
        scores = _ledger_scores(env) if from_ledger else _prompt_scores(env, file)
        thresholds = calibrate.thresholds_for_share(scores, share)
        got = calibrate.cloud_share(scores, thresholds)
        _short_of(env, share, got, scores)
        out["implies"] = {
            "prompts": len(scores),
            "cloud_share": round(got, 4),
            "top_tier_share": round(_share_at(scores, thresholds["complex"]), 4),
        }
    else:
        assert quality is not None
        goal = calibrate.parse_share(quality, "--quality")
        rows = labelled_rows(env, file)
        _, score = scorer_for(env)
        scores = [score(r.prompt) for r in rows]
        share = calibrate.share_for_quality(scores, rows, goal)
        thresholds = calibrate.thresholds_for_share(scores, share)
        strong = sum(r.strong for r in rows) / len(rows)
        got = calibrate.quality_under(scores, rows, thresholds["medium"])
        out["implies"] = {
            "prompts": len(rows),
            "cloud_share": round(calibrate.cloud_share(scores, thresholds), 4),
            "quality_of_strong": round(got / strong, 4) if strong else 1.0,
        }
    out["thresholds"] = thresholds
    if write:
        out["written"] = write_thresholds(env, thresholds)
    if json_out:
        env.stdout.write(json.dumps(out) + "\n")
    else:
        env.stdout.write(_text(out))
    return 0


def _share_at(scores: list[float], threshold: float) -> float:
    return sum(1 for s in scores if s >= threshold) / len(scores) if scores else 0.0


def _prompt_scores(env: Environment, file: str | None) -> list[float]:
    """The score of every request line, read as `llm route --jsonl` reads it ({"prompt"},
    {"messages"}, or a decision's request), so calibrating on the traffic route sees works."""
    from convergio_llm.cli.io import parse_line
    from convergio_llm.providers.errors import LLMError
    from convergio_llm.routing.decide import asked_text

    _, score = scorer_for(env)
    scores = []
    for number, line in enumerate(read_lines(env, file), 1):
        if not line.strip():
            continue
        try:
            item = parse_line(line, number, {})
        except LLMError as exc:
            env.warn(f"line {number}: {exc}")
            continue
        if item.request is not None:
            request = item.request
        else:  # a decision line: its request
            assert item.decision is not None
            request = item.decision.request
        scores.append(score(asked_text(request.messages)))
    if not scores:
        raise InputError(f"no prompts in '{file or '-'}'")
    return scores


def _short_of(env: Environment, asked: float, got: float, scores: list[float]) -> None:
    """Say so when the thresholds cannot give the share asked for (±2 points): too few
    prompts to split that finely, or many with the same score at the cut."""
    if abs(got - asked) <= 0.02:
        return
    n = len(scores)
    why = (
        f"with {n} prompt{'s' if n > 1 else ''} the share moves in steps of {1 / n:.1%}"
        if 1 / n > 0.02
        else "too many of them share the score at the cut"
    )
    env.warn(
        f"note: {got:.1%} of these prompts go to the cloud, not {asked:.1%}: {why}; "
        "calibrate on more (and more varied) prompts"
    )


def _ledger_scores(env: Environment) -> list[float]:
    """One score per routed request (its first attempt), as the ledger recorded it."""
    from convergio_llm.routing.ledger import open_ledger

    ledger = open_ledger(create=False)
    if ledger is None:
        raise InputError("no ledger yet: run some prompts with `llm run` first")
    try:
        found = ledger.query(
            "SELECT route_score FROM attempts WHERE route_score IS NOT NULL "
            "AND (route_rule IS NULL OR route_rule NOT LIKE '%(fallback)') ORDER BY id"
        )
    finally:
        ledger.close()
    if not found:
        raise InputError("the ledger holds no routed requests with a score yet")
    return [float(s) for (s,) in found]


def write_thresholds(env: Environment, thresholds: dict[str, float]) -> str:
    """Set routing.thresholds in the config file (created if missing); other keys are kept,
    comments are not (the file is YAML, rewritten whole)."""
    import os

    import yaml

    from convergio_llm.routing.config import parse_config
    from convergio_llm.routing.paths import config_file

    path, _ = config_file(env.config_path)
    data: dict[str, Any] = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        parse_config(text)  # a broken file is reported, never overwritten
        loaded = yaml.safe_load(text)
        data = loaded if isinstance(loaded, dict) else {}
    routing = data.get("routing")
    if not isinstance(routing, dict):
        routing = data["routing"] = {}
    routing["thresholds"] = dict(thresholds)
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        yaml.safe_dump(data, fh, sort_keys=False)
    return path


def _text(out: dict[str, Any]) -> str:
    lines = []
    if "shipped" in out:
        s = out["shipped"]
        t = s["thresholds"]
        lines.append(
            f"shipped calibration for {s['target']} ({s['strength']}): "
            f"medium >= {t['medium']}, complex >= {t['complex']}"
        )
    t = out["thresholds"]
    lines.append(f"routing.thresholds: medium {t['medium']}, complex {t['complex']}")
    implies = out.get("implies")
    if implies:
        text = (
            f"on these {implies['prompts']} prompts: {implies['cloud_share']:.1%} go to the cloud"
        )
        if "top_tier_share" in implies:
            text += f", {implies['top_tier_share']:.1%} to the top tier"
        if "quality_of_strong" in implies:
            text += f", keeping {implies['quality_of_strong']:.1%} of the strong model's quality"
        lines.append(text)
    if out.get("written"):
        lines.append(f"written to {out['written']}")
    return "\n".join(lines) + "\n"

"""`llm route eval` and `llm route calibrate`, their bodies run in-process on real streams."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

import pytest

from convergio_llm.cli.context import Environment
from convergio_llm.cli.route_calibrate import calibrate_command
from convergio_llm.cli.route_eval import eval_command
from convergio_llm.providers.errors import InputError
from convergio_llm.routing.complexity import assess, label_for
from convergio_llm.routing.config import load_config
from convergio_llm.routing.route_eval import Row, evaluate

WORDS = [
    "explain",
    "prove",
    "the",
    "a",
    "cache",
    "python",
    "total",
    "each",
    "history",
    "design",
    "hello",
    "thanks",
    "code",
    "function",
    "derivative",
    "poem",
    "river",
    "capital",
    "seven",
    "list",
    "report",
    "analyse",
    "integral",
    "bug",
]


def prompts(n: int, seed: int = 5) -> list[str]:
    rng = random.Random(seed)
    return [
        " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 40))) + rng.choice(["?", "."])
        for _ in range(n)
    ]


def labelled(n: int = 120) -> str:
    """Rows whose outcomes follow the router's own score, plus noise: a router that is right."""
    rng = random.Random(9)
    lines = []
    for i, p in enumerate(prompts(n)):
        hard = assess(p).score > 0.5
        strong = 1.0
        weak = 0.0 if (hard and rng.random() < 0.8) or rng.random() < 0.1 else 1.0
        row = {"prompt": p, "weak": weak, "strong": strong, "category": "ab"[i % 2]}
        lines.append(json.dumps(row))
    return "\n".join(lines) + "\n"


def env_for(stdin: str = "", config: Path | None = None) -> tuple[Environment, io.StringIO]:
    out = io.StringIO()
    env = Environment(
        stdin=io.BytesIO(stdin.encode()),
        stdout=out,
        stderr=io.StringIO(),
        config_path=str(config) if config else None,
    )
    return env, out


def test_eval_prints_the_three_rows_with_every_metric() -> None:
    env, out = env_for(labelled())
    assert eval_command(env, "-", split=None, json_out=False, plot=None, by=None) == 0
    text = out.getvalue()
    for name in ("router", "length", "random"):
        assert any(line.startswith(name) for line in text.splitlines())
    assert "APGR" in text and "CPT(50%)" in text and "strong calls for 95%" in text


def test_eval_json_by_category_and_the_router_is_best_where_it_is_right() -> None:
    env, out = env_for(labelled())
    eval_command(env, "-", split=None, json_out=True, plot=None, by="category")
    report = json.loads(out.getvalue())
    assert report["n"] == 120 and set(report["by"]["groups"]) == {"a", "b"}
    overall = report["overall"]
    assert overall["router"]["apgr"] > max(overall["length"]["apgr"], overall["random"]["apgr"])
    assert set(overall["router"]) >= {"apgr", "cpt50", "cpt80", "strong_share_95"}


def test_eval_shows_each_figures_interval_and_the_routers_lead() -> None:
    env, out = env_for(labelled())
    eval_command(env, "-", split=None, json_out=False, plot=None, by=None)
    lines = out.getvalue().splitlines()
    assert "95% interval" in lines[1]
    assert all(len(line) <= 80 for line in lines)
    router = next(line for line in lines if line.startswith("router "))
    low, high = (float(x) for x in router.split("[")[1].split("]")[0].split(","))
    assert low < float(router.split()[1]) < high
    # The router is right by construction here, so its lead over random is no noise.
    lead = next(line for line in lines if line.startswith("router - random:"))
    assert lead.endswith("ahead")
    assert next(line for line in lines if line.startswith("random ")).split()[2] == "exact"


def test_eval_json_carries_the_intervals_and_none_without_resamples() -> None:
    env, out = env_for(labelled())
    eval_command(env, "-", split=None, json_out=True, plot=None, by="category", resamples=200)
    report = json.loads(out.getvalue())
    assert report["resamples"] == 200
    for part in (report["overall"], *report["by"]["groups"].values()):
        low, high = part["router"]["apgr_interval"]
        assert low <= high
        lead = part["length"]["router_lead"]
        assert lead["apgr"] == pytest.approx(
            part["router"]["apgr"] - part["length"]["apgr"], abs=2e-4
        )
        assert lead["interval"][0] <= lead["interval"][1]
        assert part["random"]["apgr_interval"] == [part["random"]["apgr"]] * 2
    env, out = env_for(labelled())
    eval_command(env, "-", split=None, json_out=True, plot=None, by=None, resamples=0)
    assert "apgr_interval" not in json.loads(out.getvalue())["overall"]["router"]
    env, out = env_for(labelled())
    eval_command(env, "-", split=None, json_out=False, plot=None, by=None, resamples=0)
    assert "router - " not in out.getvalue()


def test_eval_scores_the_router_it_is_given_over_the_configured_one(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("routing:\n  router: heuristic\n")
    rows = [json.loads(line) for line in labelled().splitlines()]
    by_router = {}
    for router in ("learned", "heuristic", None):
        env, out = env_for(labelled(), config)
        eval_command(env, "-", split=None, json_out=True, plot=None, by=None, router=router)
        report = json.loads(out.getvalue())
        by_router[router] = (report["router"], report["overall"]["router"]["apgr"])
    assert by_router[None] == by_router["heuristic"]  # the config's
    for router in ("learned", "heuristic"):
        scores = [assess(r["prompt"], router=router).score for r in rows]
        expected = evaluate(scores, [Row(r["prompt"], r["weak"], r["strong"]) for r in rows])
        assert by_router[router] == (router, pytest.approx(expected.apgr, abs=1e-4))
    env, _ = env_for(labelled())
    with pytest.raises(InputError, match="--router must be one of learned, heuristic"):
        eval_command(env, "-", split=None, json_out=False, plot=None, by=None, router="bogus")


def test_eval_writes_the_plot(tmp_path: Path) -> None:
    env, _ = env_for(labelled())
    plot = tmp_path / "curve.png"
    eval_command(env, "-", split=None, json_out=False, plot=str(plot), by=None)
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_eval_reports_bad_lines_and_goes_on() -> None:
    env, out = env_for('not json\n{"prompt": "p q", "weak": 0, "strong": 1}\n')
    eval_command(env, "-", split=None, json_out=True, plot=None, by=None)
    assert json.loads(out.getvalue())["n"] == 1
    assert "line 1: not JSON" in env.stderr.getvalue()  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("stdin", "kwargs"),
    [
        ("", {}),
        ('{"prompt": "x", "weak": 0, "strong": 1, "split": "train"}\n', {"split": "dev"}),
        ("x\n", {"plot": "/tmp/curve.txt"}),
    ],
)
def test_eval_usage_errors(stdin: str, kwargs: dict[str, str]) -> None:
    env, _ = env_for(stdin)
    args = {"split": None, "json_out": False, "plot": None, "by": None, **kwargs}
    with pytest.raises(InputError):
        eval_command(env, "-", **args)  # type: ignore[arg-type]


def test_eval_of_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    env, _ = env_for()
    with pytest.raises(InputError, match="cannot read"):
        eval_command(
            env, str(tmp_path / "no.jsonl"), split=None, json_out=False, plot=None, by=None
        )


def calibrate(env: Environment, file: str | None = "-", **kwargs: object) -> dict[str, object]:
    args: dict[str, object] = {
        "cloud_share": None,
        "quality": None,
        "target": None,
        "from_ledger": False,
        "write": False,
        "json_out": True,
        **kwargs,
    }
    calibrate_command(env, file, **args)  # type: ignore[arg-type]
    return json.loads(env.stdout.getvalue())  # type: ignore[attr-defined,no-any-return]


@pytest.mark.parametrize("share", ["30%", "0.3", "12%", "75%"])
def test_cloud_share_thresholds_send_that_share_of_the_same_file(share: str) -> None:
    texts = prompts(400)
    env, _ = env_for("".join(json.dumps({"prompt": p}) + "\n" for p in texts))
    found = calibrate(env, cloud_share=share)
    thresholds = found["thresholds"]
    labels = [label_for(assess(p).score, thresholds) for p in texts]  # type: ignore[arg-type]
    wanted = float(share[:-1]) / 100 if share.endswith("%") else float(share)
    cloud = sum(label != "simple" for label in labels) / len(labels)
    assert abs(cloud - wanted) <= 0.02
    assert sum(label == "complex" for label in labels) / len(labels) <= cloud


def test_cloud_share_reads_every_request_line_route_reads() -> None:
    # {"messages"} lines and decisions as `llm route --jsonl` takes them, scored by the
    # user's turns; a bad line is reported by number and the rest are used.
    texts = prompts(200, seed=3)
    lines = []
    for i, p in enumerate(texts):
        if i % 2:
            turns = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": p}]
            lines.append(json.dumps({"messages": turns}))
        else:
            lines.append(json.dumps({"prompt": p}))
    lines.insert(7, '{"prompt": 3}')
    env, _ = env_for("\n".join(lines) + "\n")
    found = calibrate(env, cloud_share="30%")
    assert found["implies"]["prompts"] == 200  # type: ignore[index]
    assert "line 8:" in env.stderr.getvalue()  # type: ignore[attr-defined]
    cloud = [assess(p).score >= found["thresholds"]["medium"] for p in texts]  # type: ignore[index]
    assert abs(sum(cloud) / len(cloud) - 0.30) <= 0.02


def test_a_share_the_prompts_cannot_give_is_said_not_hidden() -> None:
    one = '{"prompt": "Prove that the square root of two is irrational."}\n'
    env, _ = env_for(one)
    found = calibrate(env, cloud_share="30%")
    assert found["implies"]["cloud_share"] == 0.0  # type: ignore[index]
    note = env.stderr.getvalue()  # type: ignore[attr-defined]
    assert "not 30.0%" in note and "with 1 prompt the share moves in steps of 100.0%" in note
    same = '{"prompt": "hello there"}\n' * 60 + one
    env, _ = env_for(same)
    found = calibrate(env, cloud_share="30%")
    assert found["implies"]["cloud_share"] == round(1 / 61, 4)  # type: ignore[index]
    assert "share the score at the cut" in env.stderr.getvalue()  # type: ignore[attr-defined]
    env, _ = env_for("".join(json.dumps({"prompt": p}) + "\n" for p in prompts(400)))
    calibrate(env, cloud_share="30%")
    assert env.stderr.getvalue() == ""  # type: ignore[attr-defined]


def test_quality_goal_over_a_labelled_file() -> None:
    env, _ = env_for(labelled())
    found = calibrate(env, quality="95%")
    implies = found["implies"]
    assert implies["quality_of_strong"] >= 0.95  # type: ignore[index]
    assert implies["cloud_share"] < 1.0  # type: ignore[index]


def test_write_puts_the_thresholds_in_the_config_and_keeps_the_rest(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("profile: free\nrouting:\n  probe_timeout_s: 0.5\n")
    env, _ = env_for("".join(json.dumps({"prompt": p}) + "\n" for p in prompts(50)), config)
    found = calibrate(env, cloud_share="30%", write=True)
    loaded = load_config(config)
    assert loaded.get("routing.thresholds") == found["thresholds"]
    assert loaded.get("profile") == "free" and loaded.get("routing.probe_timeout_s") == 0.5


def test_target_alone_shows_the_shipped_calibration_by_model_size() -> None:
    tiny = calibrate(env_for()[0], None, target="llamacpp:gemma-3-270m")
    medium = calibrate(env_for()[0], None, target="ollama:llama3.1:8b")
    assert tiny["shipped"]["strength"] == "tiny"  # type: ignore[index]
    assert medium["shipped"]["strength"] == "medium"  # type: ignore[index]
    # A weaker local model sends more to the cloud: its cut-off is lower.
    assert tiny["thresholds"]["medium"] < medium["thresholds"]["medium"]  # type: ignore[index]


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"cloud_share": "lots"},
        {"cloud_share": "130%"},
        {"cloud_share": "30%", "quality": "95%"},
        {"quality": "95%", "from_ledger": True},
    ],
)
def test_calibrate_usage_errors(kwargs: dict[str, object]) -> None:
    env, _ = env_for('{"prompt": "x y"}\n')
    with pytest.raises(InputError):
        calibrate(env, **kwargs)


def test_from_ledger_without_a_ledger_is_a_usage_error() -> None:
    env, _ = env_for()
    with pytest.raises(InputError, match="no ledger"):
        calibrate(env, None, cloud_share="30%", from_ledger=True)


def test_routing_the_file_under_the_written_thresholds_sends_30_percent_to_the_cloud(
    tmp_path: Path,
) -> None:
    from convergio_llm.providers.values import Request
    from convergio_llm.routing.decide import Policy, decide
    from tests.routing.conftest import make_context

    texts = prompts(300, seed=11)
    config = tmp_path / "config.yaml"
    config.write_text("profile: pro\n")
    env, _ = env_for("".join(json.dumps({"prompt": p}) + "\n" for p in texts), config)
    calibrate(env, cloud_share="30%", write=True)
    context = make_context(dict(load_config(config).data))
    decisions = [decide(Request.from_prompt(p), context, Policy()) for p in texts]
    cloud = sum(not context.is_local(d.provider) for d in decisions) / len(decisions)
    assert abs(cloud - 0.30) <= 0.02


def test_write_with_no_config_file_creates_the_default_one() -> None:
    from convergio_llm.routing.paths import config_file

    env, _ = env_for("".join(json.dumps({"prompt": p}) + "\n" for p in prompts(40)))
    found = calibrate(env, cloud_share="25%", write=True)
    path, _ = config_file()
    assert found["written"] == path
    assert load_config(path).get("routing.thresholds") == found["thresholds"]

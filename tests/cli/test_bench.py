"""`llm bench` through the app in-process (its engine worker is a real child process),
against fakes whose timing is scripted.

Expected figures come from the script (ttft_s, token_s), never from the code under
test. The fakes run on a virtual clock (`clock: virtual`: it moves only when slept on),
so a 10-word answer with token_s 0.01 has a decode window of exactly 9 × 10 ms, and
100 tok/s, on a loaded machine as on a quiet one.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import llm

CONFIG = """
providers:
  slowfake: {kind: fake, ttft_s: 0.05, token_s: 0.01, load_s: 0.2, words: 30, clock: virtual}
  quickfake: {kind: fake, ttft_s: 0.02, token_s: 0.005, words: 30, clock: virtual}
  flaky: {kind: fake, ttft_s: 0.01, token_s: 0.002, words: 30, fail_every: 3}
  crashy: {kind: fake, words: 30, abort_every: 2}
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG)
    return path


@pytest.fixture
def one_prompt(tmp_path: Path) -> Path:
    path = tmp_path / "prompts.txt"
    path.write_text("say something long\n")
    return path


def bench_json(config: Path, *args: str) -> dict[str, Any]:
    result = llm("--config", str(config), "bench", "--json", *args)
    assert result.code == 0, result.stderr
    record: dict[str, Any] = json.loads(result.stdout)
    return record


def summary_of(record: dict[str, Any], ref: str) -> dict[str, Any]:
    found: dict[str, Any] = next(s for s in record["summaries"] if s["target"] == ref)
    return found


def test_scripted_delays_give_the_expected_ttft_decode_and_load(
    config: Path, one_prompt: Path
) -> None:
    record = bench_json(
        config,
        "-m",
        "slowfake:lorem",
        "--prompts",
        str(one_prompt),
        "-n",
        "3",
        "--max-tokens",
        "10",
    )
    summary = summary_of(record, "slowfake:lorem")
    assert summary["ok"] == 3 and summary["error_rate"] == 0
    # On the virtual clock the scripted delays are the figures, exactly.
    # TTFT: the scripted 50 ms
    assert summary["ttft_s"]["median"] == pytest.approx(0.050)
    # decode: 9 gaps of 10 ms → 100 tok/s
    assert summary["decode_tps"]["median"] == pytest.approx(100.0)
    # end to end: 50 ms + 9 × 10 ms
    assert summary["e2e_s"]["median"] == pytest.approx(0.140)
    assert summary["output_tokens"] == 10 and summary["token_source"] == "provider"
    # the 0.2 s load happened in the warm-up, in a fresh child process
    assert summary["load_s"] == pytest.approx(0.2) and summary["load_state"] == "cold"
    assert all(s["load_s"] is None for s in record["samples"])
    assert summary["peak_rss_mb"] > 1  # measured in the engine's child process


def test_targets_run_interleaved_and_compare_by_paired_ratio(config: Path) -> None:
    record = bench_json(
        config,
        "-m",
        "slowfake:lorem",
        "-m",
        "quickfake:lorem",
        "-n",
        "2",
        "--max-tokens",
        "10",
        "--warmup",
        "0",
    )
    order = [s["target"] for s in record["samples"]]
    assert order == ["slowfake:lorem", "quickfake:lorem"] * 6  # 3 prompts × 2 reps, A B A B
    ratios = {c["metric"]: c for c in record["comparisons"]}
    assert ratios["ttft_s"]["pairs"] == 6
    # from the script: TTFT 20 ms vs 50 ms → 0.4; decode 5 ms vs 10 ms a token → 2
    assert ratios["ttft_s"]["median_ratio"] == pytest.approx(0.4)
    assert ratios["decode_tps"]["median_ratio"] == pytest.approx(2.0)
    for c in record["comparisons"]:
        assert c["ci_low"] <= c["median_ratio"] <= c["ci_high"]


def test_failing_samples_count_in_the_error_rate_and_nowhere_else(
    config: Path, one_prompt: Path
) -> None:
    record = bench_json(
        config,
        "-m",
        "flaky:lorem",
        "--prompts",
        str(one_prompt),
        "-n",
        "6",
        "--warmup",
        "0",
        "--max-tokens",
        "5",
    )
    # fail_every 3 → calls 3 and 6 fail, i.e. repetitions 2 and 5
    failed = [s["rep"] for s in record["samples"] if not s["ok"]]
    assert failed == [2, 5]
    summary = summary_of(record, "flaky:lorem")
    assert (summary["samples"], summary["ok"], summary["errors"]) == (6, 4, 2)
    assert summary["error_rate"] == pytest.approx(2 / 6)
    assert summary["ttft_s"]["n"] == 4 and summary["decode_tps"]["n"] == 4
    assert summary["ttft_s"]["median"] >= 0.010  # a floor: sleeps never return early
    assert any(w["kind"] == "errors" for w in record["warnings"])


def test_an_engine_process_that_aborts_is_a_recorded_error(config: Path, one_prompt: Path) -> None:
    record = bench_json(
        config,
        "-m",
        "crashy:lorem",
        "--prompts",
        str(one_prompt),
        "-n",
        "3",
        "--warmup",
        "0",
        "--max-tokens",
        "5",
    )
    samples = record["samples"]
    assert [s["ok"] for s in samples] == [True, False, True]  # a fresh child after the crash
    assert "SIGABRT" in samples[1]["error"]
    assert samples[1]["error_type"] == "EngineProcessDied"
    assert record["targets"][0]["engine_starts"] == 2


def test_every_sample_failing_exits_5(config: Path, one_prompt: Path) -> None:
    result = llm(
        "--config",
        str(config),
        "bench",
        "-m",
        "fake:fail",
        "--prompts",
        str(one_prompt),
        "-n",
        "2",
        "--warmup",
        "0",
    )
    assert result.code == 5
    assert "2 of 2 samples failed" in result.stdout


def test_json_record_schema(config: Path, one_prompt: Path) -> None:
    record = bench_json(
        config, "-m", "fake:lorem", "-m", "quickfake:lorem", "--prompts", str(one_prompt), "-n", "2"
    )
    assert record["schema"] == "convergio-llm/bench/v1"
    assert set(record) >= {
        "host",
        "config",
        "targets",
        "samples",
        "summaries",
        "comparisons",
        "warnings",
        "warmup_samples",
    }
    assert set(record["host"]) >= {"cpu", "cores", "load_start", "load_end", "platform", "versions"}
    assert record["host"]["versions"]["python"]
    assert record["config"]["temperature"] == 0.0 and record["config"]["repetitions"] == 2
    assert len(record["warmup_samples"]) == 2 and len(record["samples"]) == 4
    for sample in record["samples"]:
        assert set(sample) >= {
            "target",
            "prompt_id",
            "rep",
            "ok",
            "ttft_s",
            "decode_tps",
            "e2e_s",
            "input_tokens",
            "output_tokens",
            "token_source",
            "finish_reason",
            "cost_usd",
            "engine",
            "timings",
            "peak_rss_mb",
        }
    for summary in record["summaries"]:
        assert summary["ttft_s"]["p90"] is None  # n < 20: no tails


def test_tail_percentiles_appear_from_twenty_samples(config: Path, one_prompt: Path) -> None:
    record = bench_json(
        config, "-m", "fake:lorem", "--prompts", str(one_prompt), "-n", "20", "--max-tokens", "3"
    )
    ttft = summary_of(record, "fake:lorem")["ttft_s"]
    assert ttft["n"] == 20 and ttft["p90"] is not None and ttft["p99"] is not None
    assert ttft["min"] <= ttft["p90"] <= ttft["p99"] <= ttft["max"]


def test_text_report_and_png_plot(config: Path, one_prompt: Path, tmp_path: Path) -> None:
    import matplotlib.image

    plot = tmp_path / "bench.png"
    result = llm(
        "--config",
        str(config),
        "bench",
        "-m",
        "fake:lorem",
        "-m",
        "quickfake:lorem",
        "--prompts",
        str(one_prompt),
        "-n",
        "2",
        "--plot",
        str(plot),
        "--check-engine",
    )
    assert result.code == 0, result.stderr
    out = result.stdout
    for heading in ("TTFT ms", "decode tok/s", "median ratio", "engine decode tok/s"):
        assert heading in out
    assert result.stderr == ""  # no progress bar when stderr is not a terminal
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = matplotlib.image.imread(str(plot))
    assert image.shape[0] > 100 and image.shape[1] > 100


def test_svg_plot_is_well_formed_xml(config: Path, one_prompt: Path, tmp_path: Path) -> None:
    plot = tmp_path / "bench.svg"
    bench_json(
        config, "-m", "fake:lorem", "--prompts", str(one_prompt), "-n", "2", "--plot", str(plot)
    )
    root = ET.parse(plot).getroot()
    assert root.tag.endswith("svg")


def test_prompt_files_text_and_jsonl(config: Path, tmp_path: Path) -> None:
    text = tmp_path / "p.txt"
    text.write_text("first prompt\n\nsecond prompt\n")
    record = bench_json(config, "-m", "fake:echo", "--prompts", str(text), "-n", "1")
    assert [p["id"] for p in record["config"]["prompts"]] == ["1", "3"]
    jsonl = tmp_path / "p.jsonl"
    jsonl.write_text(
        '{"id": "greet", "prompt": "hello there"}\n'
        '{"id": "sys", "system": "be brief", "prompt": "why", "max_tokens": 4}\n'
    )
    record = bench_json(config, "-m", "fake:echo", "--prompts", str(jsonl), "-n", "1")
    prompts = {p["id"]: p for p in record["config"]["prompts"]}
    assert prompts["sys"]["max_tokens"] == 4 and prompts["greet"]["temperature"] == 0.0
    echoed = {s["prompt_id"]: s["output_tokens"] for s in record["samples"]}
    assert echoed == {"greet": 2, "sys": 1}
    # echo stops before --max-tokens: flagged, because decode windows then differ
    assert any(w["kind"] == "early-stop" for w in record["warnings"])


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        ((), 2, "nothing to benchmark"),
        (("-m", "nosuch:model"), 2, "unknown provider"),
        (("-m", "fake:lorem", "--plot", "out.gif"), 2, "--plot"),
        (("-m", "fake:lorem", "--prompts", "/nonexistent/prompts.txt"), 2, "cannot read"),
        (("-m", "fake:lorem", "-m", "fake:lorem"), 2, "named twice"),
        (("-m", "fake:lorem", "-n", "0"), 2, "-n"),
        (("-p", "ollama"), 3, "ollama"),
    ],
)
def test_bad_input_is_one_line_and_an_exit_code(
    config: Path, args: tuple[str, ...], status: int, message: str
) -> None:
    result = llm("--config", str(config), "bench", *args)
    assert result.code == status, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr

"""What `llm bench` prints: the host it ran on, tables on stdout, the JSON record."""

from __future__ import annotations

import contextlib
import os
import platform
from collections.abc import Mapping, Sequence
from typing import IO, Any

from convergio_llm.cli.width import table, terminal_width

SCHEMA = "convergio-llm/bench/v1"
VERSIONED = (
    "convergio-llm",
    "llama-cpp-python",
    "mlx",
    "mlx-lm",
    "openai",
    "anthropic",
    "google-genai",
    "requests",
)


def load_average() -> float | None:
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):  # Windows
        return None


def host_info() -> dict[str, Any]:
    """The machine's identity and state at the start; `load_end` is added when it ends."""
    from importlib.metadata import PackageNotFoundError, version

    from convergio_llm.providers.manifest import import_optional

    psutil = import_optional("psutil", "bench", "llm bench")

    versions: dict[str, str] = {"python": platform.python_version()}
    for name in VERSIONED:
        with contextlib.suppress(PackageNotFoundError):
            versions[name] = version(name)
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "physical_cores": psutil.cpu_count(logical=False),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "load_start": load_average(),
        "load_end": None,
        "versions": versions,
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _fmt(value: float | None, scale: float = 1.0, digits: int = 1) -> str:
    return "-" if value is None else f"{value * scale:.{digits}f}"


# (summary key, heading, scale, digits)
_ROWS = (
    ("ttft_s", "TTFT ms", 1000.0, 1),
    ("decode_tps", "decode tok/s", 1.0, 1),
    ("e2e_s", "total s", 1.0, 3),
)


def metrics_table(summaries: Sequence[Mapping[str, Any]], width: int | None = None) -> str:

    tails = any((s.get("ttft_s") or {}).get("p90") is not None for s in summaries)
    head = ["target", "metric", "median", "min", "max", "mean ± sd"]
    head += ["p90", "p99"] if tails else []
    rows = []
    for summary in summaries:
        for key, label, scale, digits in _ROWS:
            s = summary.get(key)
            if not s:
                rows.append([summary["target"], label, "-", "-", "-", "-"])
                continue
            sd = f" ± {_fmt(s['stdev'], scale, digits)}" if s["stdev"] is not None else ""
            row = [summary["target"], label] + [
                _fmt(s[k], scale, digits) for k in ("median", "min", "max")
            ]
            row.append(_fmt(s["mean"], scale, digits) + sd)
            if tails:
                row += [_fmt(s["p90"], scale, digits), _fmt(s["p99"], scale, digits)]
            rows.append(row)
    return table(rows, head, width)


def resources_table(summaries: Sequence[Mapping[str, Any]], width: int | None = None) -> str:

    head = [
        "target",
        "ok/n",
        "errors",
        "tokens in/out",
        "counted by",
        "load s",
        "peak RSS MB",
        "cost $/req",
    ]
    rows = []
    for s in summaries:
        load = _fmt(s["load_s"], digits=2)
        if s["load_s"] is not None and s["load_state"]:
            load += f" ({s['load_state']})"
        tokens = f"{_fmt(s['input_tokens'], digits=0)}/{_fmt(s['output_tokens'], digits=0)}"
        cost = s["cost_usd"]["per_request"]
        rows.append(
            [
                s["target"],
                f"{s['ok']}/{s['samples']}",
                f"{s['error_rate']:.0%}",
                tokens,
                s["token_source"] or "-",
                load,
                _fmt(s["peak_rss_mb"], digits=0),
                "unknown" if cost is None else f"{cost:.6g}",
            ]
        )
    return table(rows, head, width)


def comparisons_table(comparisons: Sequence[Mapping[str, Any]], width: int | None = None) -> str:

    labels = {"ttft_s": "TTFT", "decode_tps": "decode tok/s", "e2e_s": "total time"}
    rows = []
    for c in comparisons:
        if c["median_ratio"] is None:
            ratio, interval = "-", "-"
        else:
            ratio = f"×{c['median_ratio']:.3f}"
            interval = f"[{c['ci_low']:.3f}, {c['ci_high']:.3f}]"
        rows.append(
            [f"{c['target']} vs {c['baseline']}", labels[c["metric"]], ratio, interval, c["pairs"]]
        )
    return table(rows, ["comparison", "metric", "median ratio", "95% CI", "pairs"], width)


def engine_table(summaries: Sequence[Mapping[str, Any]], width: int | None = None) -> str:

    rows = []
    for s in summaries:
        c = s.get("engine_check")
        if c is None:
            rows.append([s["target"], _fmt(_median_of(s, "decode_tps")), "not reported", "-"])
        else:
            rows.append(
                [
                    s["target"],
                    _fmt(c["client_decode_tps"]),
                    _fmt(c["engine_decode_tps"]),
                    f"{c['difference_pct']:+.1f}%",
                ]
            )
    head = ["target", "client decode tok/s", "engine decode tok/s", "difference"]
    return table(rows, head, width)


def _median_of(summary: Mapping[str, Any], key: str) -> float | None:
    s = summary.get(key)
    return None if not s else float(s["median"])


def write_text(out: IO[str], record: Mapping[str, Any]) -> None:
    """The tables, wrapped to the terminal's width when `out` is one."""
    width = terminal_width(out)
    summaries = record["summaries"]
    host = record["host"]
    out.write(
        f"{host['cpu']} · {host['cores']} cores · load {_fmt(host['load_start'], digits=2)}"
        f"→{_fmt(host['load_end'], digits=2)} · {record['config']['repetitions']} reps × "
        f"{len(record['config']['prompts'])} prompts, max {record['config']['max_tokens']} "
        "tokens, temperature 0\n\n"
    )
    out.write(metrics_table(summaries, width) + "\n\n" + resources_table(summaries, width) + "\n")
    if record["comparisons"]:
        out.write("\n" + comparisons_table(record["comparisons"], width) + "\n")
    if record["config"]["check_engine"]:
        out.write("\n" + engine_table(summaries, width) + "\n")
    if record["warnings"]:
        out.write("\nwarnings:\n")
        for w in record["warnings"]:
            out.write(f"  - {w['message']}\n")
    out.flush()

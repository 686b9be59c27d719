"""`llm route eval FILE`: how well the router orders a labelled file's prompts, beside the
prompt-length and random baselines computed the same way (routing/route_eval.py).

No model is called: each prompt gets the score `llm route` would give it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from convergio_llm.cli.context import Environment
from convergio_llm.providers.errors import InputError
from convergio_llm.routing.route_eval import (
    Report,
    Row,
    Uncertainty,
    bootstrap,
    compare,
    length_score,
    parse_rows,
)

# (heading, width): the table fits 80 columns.
COLUMNS = (
    ("APGR", 7),
    ("95% interval", 16),
    ("CPT(50%)", 10),
    ("CPT(80%)", 10),
    ("strong calls for 95%", 22),
)


def read_lines(env: Environment, file: str | None) -> list[str]:
    """The file's lines, or stdin's for None or "-"; undecodable text is a usage error."""
    try:
        if file is None or file == "-":
            data = env.stdin.read()
        else:
            with open(file, "rb") as fh:
                data = fh.read()
        return data.decode("utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read '{file}': {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputError(f"'{file or '-'}' is not UTF-8 text") from None


def labelled_rows(
    env: Environment, file: str | None, *, split: str | None = None, by: str | None = None
) -> list[Row]:
    rows, problems = parse_rows(read_lines(env, file), split=split, by=by)
    for problem in problems:
        env.warn(problem)
    if not rows:
        where = f" in split '{split}'" if split else ""
        raise InputError(f"no labelled rows{where} in '{file or '-'}'")
    return rows


def scorer_for(env: Environment, router: str | None = None) -> tuple[str, Callable[[str], float]]:
    """The router's score, as `llm route` computes it: `router`, else the configured one."""
    from convergio_llm.routing.complexity import DEFAULT_ROUTER, ROUTERS, assess

    if router is not None and router not in ROUTERS:
        raise InputError(f"--router must be one of {', '.join(ROUTERS)} (got '{router}')")
    name = router or str(env.config.get("routing.router") or DEFAULT_ROUTER)
    return name, lambda prompt: assess(prompt, router=name).score


def eval_command(
    env: Environment,
    file: str,
    *,
    split: str | None,
    json_out: bool,
    plot: str | None,
    by: str | None,
    resamples: int = 1000,
    router: str | None = None,
) -> int:
    if plot is not None:
        from convergio_llm.cli.bench_plot import check_path

        check_path(plot)
    router_name, score = scorer_for(env, router)
    rows = labelled_rows(env, file, split=split, by=by)
    scores = {r.prompt: score(r.prompt) for r in rows}  # a prompt is scored once
    parts = [("all", rows)]
    if by is not None:
        for name in sorted({r.group or "None" for r in rows}):
            parts.append((name, [r for r in rows if (r.group or "None") == name]))
    results = [(name, *_measure(part, scores, resamples)) for name, part in parts]
    if json_out:
        _, overall, spread = results[0]
        out: dict[str, Any] = {
            "router": router_name,
            "n": len(rows),
            "resamples": resamples,
            "overall": _json(overall, spread),
        }
        if by is not None:
            groups = {name: _json(r, u) for name, r, u in results[1:]}
            out["by"] = {"field": by, "groups": groups}
        env.stdout.write(json.dumps(out) + "\n")
    else:
        for k, (name, report, spread) in enumerate(results):
            n = next(iter(report.metrics.values())).n
            title = (
                f"all ({n} prompts, router {router_name})"
                if k == 0
                else f"{by} = {name} ({n} prompts)"
            )
            env.stdout.write(("\n" if k else "") + _table(title, report, spread))
    if plot is not None:
        draw(plot, results[0][1], f"{file} ({len(rows)} prompts)")
    return 0


def _measure(
    rows: Sequence[Row], scores: dict[str, float], resamples: int
) -> tuple[Report, Uncertainty | None]:
    report = compare(rows, scores.__getitem__)
    if resamples == 0:
        return report, None
    paired = {
        "router": [scores[r.prompt] for r in rows],
        "length": [length_score(r.prompt) for r in rows],
    }
    return report, bootstrap(rows, paired, resamples=resamples)


def _json(report: Report, spread: Uncertainty | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    router = report.metrics["router"]
    for name, m in report.metrics.items():
        entry: dict[str, Any] = m.to_json()
        if spread is not None:
            interval = spread.apgr.get(name)  # random's figure is exact: no interval
            entry["apgr_interval"] = interval.to_json() if interval else [round(m.apgr, 4)] * 2
            if name in spread.lead:  # the router's lead over this baseline, paired
                entry["router_lead"] = {
                    "apgr": round(router.apgr - m.apgr, 4),
                    "interval": spread.lead[name].to_json(),
                }
        out[name] = entry
    return out


def _table(title: str, report: Report, spread: Uncertainty | None) -> str:
    lines = [title, f"{'':8}" + "".join(f"{c:>{w}}" for c, w in COLUMNS)]
    for name, m in report.metrics.items():
        interval = "" if spread is None else _interval_text(spread, name)
        cells = (
            f"{m.apgr:.3f}",
            interval,
            f"{m.cpt50:.1%}",
            f"{m.cpt80:.1%}",
            f"{m.strong_share_95:.1%}",
        )
        lines.append(
            f"{name:8}" + "".join(f"{c:>{w}}" for c, (_, w) in zip(cells, COLUMNS, strict=True))
        )
    if spread is not None:
        router = report.metrics["router"].apgr
        for name, (low, high) in spread.lead.items():
            lead = router - report.metrics[name].apgr
            verdict = "ahead" if low > 0 else "behind" if high < 0 else "within noise"
            lines.append(f"router - {name}: {lead:+.3f}, 95% [{low:+.3f}, {high:+.3f}], {verdict}")
    return "\n".join(lines) + "\n"


def _interval_text(spread: Uncertainty, name: str) -> str:
    if name not in spread.apgr:
        return "exact"  # random routing's figure is its expectation, not an estimate
    low, high = spread.apgr[name]
    return f"[{low:.3f}, {high:.3f}]"


def draw(path: str, report: Report, title: str) -> None:
    """Quality against the share of strong-model calls, every router on one chart."""
    try:
        import matplotlib
    except ImportError:
        raise InputError("--plot needs matplotlib: pip install 'convergio-llm[bench]'") from None
    matplotlib.use("Agg")  # no display needed, and no GUI toolkit imported
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.5))
    for name, curve in report.curves.items():
        xs: Sequence[float] = [x for x, _ in curve]
        ys: Sequence[float] = [y for _, y in curve]
        apgr = report.metrics[name].apgr
        ax.plot(xs, ys, label=f"{name} (APGR {apgr:.3f})", linewidth=1.5)
    ax.set_xlabel("share of prompts sent to the strong model")
    ax.set_ylabel("mean quality")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)

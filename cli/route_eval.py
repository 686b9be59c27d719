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
from convergio_llm.routing.route_eval import Report, Row, compare, parse_rows

COLUMNS = ("APGR", "CPT(50%)", "CPT(80%)", "strong calls for 95%")


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


def scorer_for(env: Environment) -> tuple[str, Callable[[str], float]]:
    """The configured router's score, as `llm route` computes it."""
    from convergio_llm.routing.complexity import DEFAULT_ROUTER, assess

    router = str(env.config.get("routing.router") or DEFAULT_ROUTER)
    return router, lambda prompt: assess(prompt, router=router).score


def eval_command(
    env: Environment,
    file: str,
    *,
    split: str | None,
    json_out: bool,
    plot: str | None,
    by: str | None,
) -> int:
    if plot is not None:
        from convergio_llm.cli.bench_plot import check_path

        check_path(plot)
    rows = labelled_rows(env, file, split=split, by=by)
    router, score = scorer_for(env)
    overall = compare(rows, score)
    groups: dict[str, Report] = {}
    if by is not None:
        for name in sorted({r.group or "None" for r in rows}):
            groups[name] = compare([r for r in rows if (r.group or "None") == name], score)
    if json_out:
        out: dict[str, Any] = {"router": router, "n": len(rows), "overall": _json(overall)}
        if by is not None:
            out["by"] = {"field": by, "groups": {k: _json(v) for k, v in groups.items()}}
        env.stdout.write(json.dumps(out) + "\n")
    else:
        env.stdout.write(_table(f"all ({len(rows)} prompts, router {router})", overall))
        for name, report in groups.items():
            n = next(iter(report.metrics.values())).n
            env.stdout.write("\n" + _table(f"{by} = {name} ({n} prompts)", report))
    if plot is not None:
        draw(plot, overall, f"{file} ({len(rows)} prompts)")
    return 0


def _json(report: Report) -> dict[str, Any]:
    return {name: m.to_json() for name, m in report.metrics.items()}


def _table(title: str, report: Report) -> str:
    lines = [title, f"{'':8}" + "".join(f"{c:>22}" for c in COLUMNS)]
    for name, m in report.metrics.items():
        cells = (f"{m.apgr:.3f}", f"{m.cpt50:.1%}", f"{m.cpt80:.1%}", f"{m.strong_share_95:.1%}")
        lines.append(f"{name:8}" + "".join(f"{c:>22}" for c in cells))
    return "\n".join(lines) + "\n"


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

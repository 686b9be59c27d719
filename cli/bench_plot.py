"""`--plot FILE.png|.svg`: TTFT and decode speed per target, every sample shown.

A box per target shows the median and the spread; the samples themselves are drawn
over it, because with five repetitions the points say more than the box does.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Sequence
from pathlib import Path

from convergio_llm.cli.bench_measure import Sample, Target
from convergio_llm.providers.errors import InputError

FORMATS = (".png", ".svg", ".pdf")
# Medians further apart than this share an axis only on a log scale.
LOG_SCALE_SPREAD = 20.0


def check_path(path: str) -> None:
    """Fail before the benchmark, not after it, on a file we could not write."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"--plot: '{path}' must end in {', '.join(FORMATS)}")
    if not Path(path).resolve().parent.is_dir():
        raise InputError(f"--plot: the folder of '{path}' does not exist")


def draw(path: str, targets: Sequence[Target], samples: Sequence[Sample], title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display needed, and no GUI toolkit imported
    import matplotlib.pyplot as plt

    panels = (
        ("ttft_s", "time to first token (ms)", 1000.0),
        ("decode_tps", "decode tokens/s", 1.0),
    )
    labels = [t.ref for t in targets]
    fig, axes = plt.subplots(1, 2, figsize=(max(8.0, 2.2 * len(targets) + 4), 4.5))
    jitter = random.Random(0)
    for ax, (field, ylabel, scale) in zip(axes, panels, strict=True):
        data = [
            [
                getattr(s, field) * scale
                for s in samples
                if s.target == t.ref and s.ok and getattr(s, field) is not None
            ]
            for t in targets
        ]
        positions = range(1, len(targets) + 1)
        ax.boxplot(
            [d or [float("nan")] for d in data],
            positions=list(positions),
            widths=0.5,
            showfliers=False,
            medianprops={"color": "black", "linewidth": 2},
        )
        for x, points in zip(positions, data, strict=True):
            xs = [x + jitter.uniform(-0.12, 0.12) for _ in points]
            ax.scatter(xs, points, s=14, alpha=0.6, zorder=3)
        ax.set_xticks(list(positions))
        ax.set_xticklabels(labels, rotation=15, ha="right", fontsize=8)
        medians = [statistics.median(d) for d in data if d]
        for x, points in zip(positions, data, strict=True):
            if points:
                centre = statistics.median(points)
                ax.annotate(f"{centre:.4g}", (x + 0.28, centre), fontsize=8, va="center")
        ax.set_ylabel(ylabel)
        if medians and min(medians) > 0 and max(medians) / min(medians) > LOG_SCALE_SPREAD:
            ax.set_yscale("log")  # otherwise the slowest targets flatten into the axis
        else:
            ax.set_ylim(bottom=0)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)

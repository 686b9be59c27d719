"""Leave-one-source-out: how well the router ranks prompts of a benchmark it never saw.

    .venv/bin/python tools/loso_router.py --data ../shared/routing-data

For each source S of pairs.jsonl's train split, the router is trained as `make router`
trains it but without any prompt of S (tools/train_router.py, the same design and data),
then S's train rows are scored by the real inference path (routing/scorer.py) and ranked
within S: APGR beside prompt length and the random router (0.5 exactly, the expectation).
Each row is scored at several weights of the across-source fit (KINDS; 0 = the
within-source fit alone, tools/train_router.py ships KIND_WEIGHT). This is the proxy for
the held-out condition (public benchmarks the project never sees, each scored within
itself), used instead of the dev split to choose designs.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import train_router

from convergio_llm.routing import scorer
from convergio_llm.routing.route_eval import Row, evaluate, length_score


def held_out_rows(data: Path) -> dict[str, list[Row]]:
    by_source: dict[str, list[Row]] = defaultdict(list)
    for r in train_router.read(data / "pairs.jsonl"):
        if r["split"] == "train":
            row = Row(r["prompt"], float(r["weak"]), float(r["strong"]))
            by_source[r["src_dataset"]].append(row)
    return dict(sorted(by_source.items()))


KINDS = (0.0, 0.25, 0.5, 1.0)  # the across-source fit's weights compared


def loso(data: Path) -> tuple[dict[str, tuple[int, list[float], float]], list[float], float]:
    """Per source: (rows, router APGR at each of KINDS, length APGR), the router trained
    without the source; and the APGR of all held-out rows pooled (each scored by the
    model that never saw its source), which measures telling unseen kinds of work apart."""
    prompts, y, sources = train_router.training_set(data)
    table = {}
    pooled: list[list[float]] = [[] for _ in KINDS]
    everything: list[Row] = []
    for source, rows in held_out_rows(data).items():
        keep = [i for i, s in enumerate(sources) if s != source]
        fitted = train_router.fit_both(
            [prompts[i] for i in keep], y[keep], [sources[i] for i in keep]
        )
        apgrs = []
        for k, kind in enumerate(KINDS):
            model = scorer.load(json.dumps(train_router.blended(*fitted, kind)))
            scores = [scorer.assess(r.prompt, model)[0] for r in rows]
            apgrs.append(evaluate(scores, rows).apgr)
            pooled[k] += scores
        everything += rows
        length = evaluate([length_score(r.prompt) for r in rows], rows).apgr
        table[source] = (len(rows), apgrs, length)
        print(source, len(rows), [round(a, 3) for a in apgrs], round(length, 3), file=sys.stderr)
    overall = [evaluate(scores, everything).apgr for scores in pooled]
    pooled_length = evaluate([length_score(r.prompt) for r in everything], everything).apgr
    return table, overall, pooled_length


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(train_router.ROOT.parent / "shared" / "routing-data"))
    args = parser.parse_args()
    table, overall, pooled_length = loso(Path(args.data))
    heads = " | ".join(f"kind {k}" for k in KINDS)
    print(f"| held-out source | n | {heads} | length | random |")
    print("|---|---|" + "---|" * len(KINDS) + "---|---|")
    for source, (n, apgrs, length) in table.items():
        cells = " | ".join(f"{a:.3f}" for a in apgrs)
        print(f"| {source} | {n} | {cells} | {length:.3f} | 0.500 |")
    means = [sum(v[1][k] for v in table.values()) / len(table) for k in range(len(KINDS))]
    length_mean = sum(v[2] for v in table.values()) / len(table)
    cells = " | ".join(f"{m:.3f}" for m in means)
    print(f"| mean of sources | | {cells} | {length_mean:.3f} | 0.500 |")
    cells = " | ".join(f"{m:.3f}" for m in overall)
    print(f"| all held-out rows pooled | | {cells} | {pooled_length:.3f} | 0.500 |")


if __name__ == "__main__":
    main()

"""Leave-one-source-out: how well the router ranks prompts of a benchmark it never saw.

    .venv/bin/python tools/loso_router.py --data ../shared/routing-data [--shared-intercept]

For each source S of pairs.jsonl's train split, the router is trained as `make router`
trains it but without any prompt of S (tools/train_router.py, the same design and data),
then S's train rows are scored by the real inference path (routing/scorer.py) and ranked
within S: APGR beside prompt length and the random router (0.5 exactly, the expectation).
This is the proxy for the held-out condition (public benchmarks the project never sees,
each scored within itself), used instead of the dev split to choose designs.
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


def loso(data: Path, fixed_effects: bool = True) -> dict[str, tuple[int, float, float]]:
    """Source → (rows, router APGR, length APGR), the router trained without the source."""
    prompts, y, sources = train_router.training_set(data)
    out = {}
    for source, rows in held_out_rows(data).items():
        keep = [i for i, s in enumerate(sources) if s != source]
        fields = train_router.fit_model(
            [prompts[i] for i in keep], y[keep], [sources[i] for i in keep], fixed_effects
        )
        model = scorer.load(json.dumps(fields))
        router = evaluate([scorer.assess(r.prompt, model)[0] for r in rows], rows).apgr
        length = evaluate([length_score(r.prompt) for r in rows], rows).apgr
        out[source] = (len(rows), router, length)
        print(f"{source:<34} {len(rows):>5} {router:.3f} {length:.3f}", file=sys.stderr)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(train_router.ROOT.parent / "shared" / "routing-data"))
    parser.add_argument(
        "--shared-intercept", action="store_true", help="the design before per-source intercepts"
    )
    args = parser.parse_args()
    table = loso(Path(args.data), fixed_effects=not args.shared_intercept)
    print("| held-out source | n | router | length | random |\n|---|---|---|---|---|")
    for source, (n, router, length) in table.items():
        print(f"| {source} | {n} | {router:.3f} | {length:.3f} | 0.500 |")
    mean = [sum(v[i] for v in table.values()) / len(table) for i in (1, 2)]
    print(f"| mean of sources | | {mean[0]:.3f} | {mean[1]:.3f} | 0.500 |")


if __name__ == "__main__":
    main()

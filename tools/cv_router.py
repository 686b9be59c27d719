"""Within-source cross-validation: how well the router ranks unseen prompts of a benchmark it knows.

    .venv/bin/python tools/cv_router.py --data ../shared/routing-data

The train split of pairs.jsonl is cut into 5 folds by prompt hash. For each fold the router
is trained as `make router` trains it (tools/train_router.py) on everything but that fold's
prompts (in every file), then the fold's rows are scored by the real inference path
(routing/scorer.py) and ranked within their source. Per source, the APGR of all folds'
rows pooled, beside prompt length and random (0.5). This is the proxy for a held-out
benchmark of a kind the router was trained on (as MMLU is to MMLU-Pro); the leave-one-
source-out tool (tools/loso_router.py) is the proxy for an unseen kind. Both, not the dev
split, choose designs (ROUTER_CARD.md).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import train_router

from convergio_llm.routing import scorer
from convergio_llm.routing.route_eval import Row, evaluate, length_score

FOLDS = 5


def fold_of(prompt: str) -> int:
    return int(hashlib.sha256(prompt.encode("utf-8")).hexdigest(), 16) % FOLDS


def cross_validate(data: Path) -> dict[str, tuple[int, float, float]]:
    """Per source: (rows, router APGR, length APGR), every row scored by a model that was
    not trained on its prompt."""
    rows = [r for r in train_router.read(data / "pairs.jsonl") if r["split"] == "train"]
    scored: dict[str, list[tuple[float, Row]]] = defaultdict(list)
    for fold in range(FOLDS):
        held_out = [r for r in rows if fold_of(r["prompt"]) == fold]
        prompts, y, sources = train_router.training_set(
            data, exclude=frozenset(r["prompt"] for r in held_out)
        )
        model = scorer.load(json.dumps(train_router.fit_model(prompts, y, sources)))
        for r in held_out:
            row = Row(r["prompt"], float(r["weak"]), float(r["strong"]))
            scored[r["src_dataset"]].append((scorer.assess(r["prompt"], model)[0], row))
        print(f"fold {fold + 1}/{FOLDS}", file=sys.stderr)
    table = {}
    for source, items in sorted(scored.items()):
        these = [row for _, row in items]
        router = evaluate([score for score, _ in items], these).apgr
        length = evaluate([length_score(row.prompt) for row in these], these).apgr
        table[source] = (len(these), router, length)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(train_router.ROOT.parent / "shared" / "routing-data"))
    args = parser.parse_args()
    table = cross_validate(Path(args.data))
    print("| source | n | router | length | random |")
    print("|---|---|---|---|---|")
    for source, (n, router, length) in table.items():
        print(f"| {source} | {n} | {router:.3f} | {length:.3f} | 0.500 |")
    trained = [v for s, v in table.items() if s not in train_router.NOT_FOR_TRAINING]
    mean_router = sum(v[1] for v in trained) / len(trained)
    mean_length = sum(v[2] for v in trained) / len(trained)
    print(f"| mean (trained sources) | | {mean_router:.3f} | {mean_length:.3f} | 0.500 |")


if __name__ == "__main__":
    main()

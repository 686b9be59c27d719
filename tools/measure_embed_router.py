"""Measure an offline embedding router side by side with the default learned router.

    .venv/bin/python tools/embed_cache.py --model minilm      # once: the vectors
    .venv/bin/python tools/measure_embed_router.py --model minilm [--json out.json]

Measurement only (issue 13 item 4; routing/ROUTER_CARD.md, "Embedding router: measured,
not shipped"); never run by the test suite. The same target as tools/train_router.py (the
share of a prompt's pairs where the strong model did strictly better), the same training
rows (AlpacaEval and dev prompts never in training) and per-source weights, a logistic
regression on the embedding (`emb`) or on the embedding and the default router's logit
(`emb+score`, out-of-fold scores in training so the feature is not overfit), scored by
routing/route_eval.py: dev overall and by source, and leave-one-source-out (the default
and the `emb` router trained without source S, scored on all of S's rows of pairs.jsonl;
the L2 is the one 3-fold cross-validation on the training rows chose for dev).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy import sparse

TOOLS = Path(__file__).resolve().parent
sys.path.insert(0, str(TOOLS))
import embed_cache  # noqa: E402
import train_router  # noqa: E402

from convergio_llm.routing import route_eval, scorer  # noqa: E402

L2_GRID = (1e-4, 1e-3, 1e-2)
STEPS = 400
FOLDS = 5
CV_FOLDS = 3  # for the L2 choice only (the 2-core machine is shared)


def source_weights(sources: list[str]) -> np.ndarray:
    """tools/train_router.py's weighting: each source √(its share), the synthetic lines a fifth."""
    per_source: dict[str, int] = defaultdict(int)
    for s in sources:
        per_source[s] += 1
    w = np.array([1.0 / per_source[s] for s in sources])
    w = np.sqrt(w * len(sources) / len(per_source))
    w[np.array(sources) == "easy_chat"] *= train_router.EASY_WEIGHT
    return w


def fit_dense(x: np.ndarray, y: np.ndarray, weights: np.ndarray, l2: float) -> np.ndarray:
    """Weighted logistic regression on soft targets, full-batch Adam from zeros (deterministic);
    the last coefficient is the bias."""
    x1 = np.hstack([x, np.ones((len(x), 1))])
    theta = np.zeros(x1.shape[1])
    m = np.zeros_like(theta)
    s = np.zeros_like(theta)
    total = weights.sum()
    penalty = np.ones_like(theta) * l2
    penalty[-1] = 0.0
    for step in range(1, STEPS + 1):
        p = 1 / (1 + np.exp(-(x1 @ theta)))
        grad = x1.T @ ((p - y) * weights / total) + penalty * theta
        m = 0.9 * m + 0.1 * grad
        s = 0.999 * s + 0.001 * grad * grad
        theta -= 0.05 * (m / (1 - 0.9**step)) / (np.sqrt(s / (1 - 0.999**step)) + 1e-8)
    return theta


def predict(theta: np.ndarray, x: np.ndarray) -> np.ndarray:
    return x @ theta[:-1] + theta[-1]


def folds_of(n: int) -> np.ndarray:
    return np.array([i % FOLDS for i in random.Random(13).sample(range(n), n)])


def weighted_loss(z: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    p = np.clip(1 / (1 + np.exp(-z)), 1e-9, 1 - 1e-9)
    return float(np.sum(w * -(y * np.log(p) + (1 - y) * np.log(1 - p))) / w.sum())


def choose_l2(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """The L2 with the lowest 5-fold cross-validated loss on the training rows only."""
    fold = folds_of(len(y)) % CV_FOLDS
    losses = {}
    for l2 in L2_GRID:
        z = np.zeros(len(y))
        for k in range(CV_FOLDS):
            theta = fit_dense(x[fold != k], y[fold != k], w[fold != k], l2)
            z[fold == k] = predict(theta, x[fold == k])
        losses[l2] = weighted_loss(z, y, w)
    return min(losses, key=lambda k: losses[k])


class Default:
    """The default router (tools/train_router.py's features and fit) refitted on row subsets."""

    def __init__(self, train_prompts: list[str], extra: list[str]) -> None:
        csr, dense, self.vocab = train_router.design(train_prompts)
        extra_csr, extra_dense, _ = train_router.design(extra, self.vocab)
        n = len(self.vocab)
        self.sparse = sparse.vstack([_matrix(csr, n), _matrix(extra_csr, n)]).tocsr()
        self.dense = np.vstack([dense, extra_dense]) if extra else dense
        self.index = {p: i for i, p in enumerate([*train_prompts, *extra])}

    def fit(self, rows: np.ndarray, y: np.ndarray, w: np.ndarray):
        sub = self.sparse[rows]
        csr = (sub.indptr, sub.indices.astype(np.int64), sub.data)
        return train_router.fit(csr, self.dense[rows], y, len(self.vocab), w)

    def logits(self, params, prompts: list[str]) -> np.ndarray:
        wv, v, b = params
        rows = np.array([self.index[p] for p in prompts])
        return self.sparse[rows] @ wv + self.dense[rows] @ v + b

    def out_of_fold(self, rows: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
        fold = folds_of(len(rows))
        z = np.zeros(len(rows))
        prompts = list(self.index)
        for k in range(FOLDS):
            params = self.fit(rows[fold != k], y[fold != k], w[fold != k])
            z[fold == k] = self.logits(params, [prompts[i] for i in rows[fold == k]])
        return z


def _matrix(csr, n_cols: int) -> sparse.csr_matrix:
    indptr, indices, values = csr
    return sparse.csr_matrix((values, indices, indptr), shape=(len(indptr) - 1, n_cols))


def apgr(scores, rows) -> float:
    return route_eval.evaluate(list(scores), rows).apgr


def paired_bootstrap(a, b, rows, n: int = 300) -> tuple[float, float]:
    """The 2.5th and 97.5th percentiles of APGR(a) − APGR(b) over resampled rows."""
    rng = random.Random(7)
    diffs = []
    for _ in range(n):
        pick = [rng.randrange(len(rows)) for _ in rows]
        sub = [rows[i] for i in pick]
        diffs.append(apgr([a[i] for i in pick], sub) - apgr([b[i] for i in pick], sub))
    diffs.sort()
    return diffs[int(0.025 * n)], diffs[int(0.975 * n) - 1]


def load_rows(data: Path) -> tuple[dict[str, list[route_eval.Row]], list[route_eval.Row]]:
    """Dev rows by source (and `all`, and the Mixtral pair on dev prompts); pairs.jsonl's rows
    of every source (for leave-one-source-out)."""
    text = (data / "pairs.jsonl").read_text(encoding="utf-8").splitlines()
    dev, _ = route_eval.parse_rows(text, split="dev", by="src_dataset")
    every, _ = route_eval.parse_rows(text, by="src_dataset")
    dev_prompts = {r.prompt for r in dev}
    mixtral_text = (data / "pairs_mixtral_vs_gpt4class.jsonl").read_text(encoding="utf-8")
    mixtral, _ = route_eval.parse_rows(mixtral_text.splitlines())
    sets: dict[str, list[route_eval.Row]] = {"all": dev}
    for r in dev:
        sets.setdefault(str(r.group), []).append(r)
    sets["mixtral-vs-gpt4 (dev prompts)"] = [r for r in mixtral if r.prompt in dev_prompts]
    return sets, every


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("minilm", "static"), default="minilm")
    parser.add_argument("--data", default=str(embed_cache.DATA))
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--l2", type=float, help="this L2, no cross-validation (quicker)")
    parser.add_argument("--dev-only", action="store_true", help="no emb+score, no LOSO")
    args = parser.parse_args()
    data = Path(args.data)

    prompts, y, sources = train_router.training_set(data)
    every_prompt = embed_cache.all_prompts(data)
    vectors = embed_cache.cached(args.model, every_prompt)
    row_of = {p: i for i, p in enumerate(every_prompt)}

    def emb(ps: list[str]) -> np.ndarray:
        return vectors[[row_of[p] for p in ps]]

    dev_sets, every = load_rows(data)
    train_set = set(prompts)
    extra = sorted({r.prompt for r in every} - train_set)
    default = Default(prompts, extra)
    shipped = scorer.shipped()
    src = np.array(sources)
    out: dict[str, dict] = {"dev": {}, "loso": {}}

    # Dev: everything but AlpacaEval and dev prompts in training.
    all_rows = np.arange(len(prompts))
    w = source_weights(sources)
    x = emb(prompts)
    l2 = args.l2 if args.l2 is not None else choose_l2(x, y, w)
    theta = fit_dense(x, y, w, l2)
    if not args.dev_only:
        oof = default.out_of_fold(all_rows, y, w)
        theta2 = fit_dense(np.hstack([x, oof[:, None]]), y, w, l2)
    full = default.fit(all_rows, y, w)
    print(f"L2 {l2:g}", file=sys.stderr, flush=True)
    for name, rows in dev_sets.items():
        ps = [r.prompt for r in rows]
        score = default.logits(full, ps)
        scores = {
            "default": [scorer.assess(p, shipped)[0] for p in ps],
            "default-refit": list(score),
            "emb": list(predict(theta, emb(ps))),
            "length": [route_eval.length_score(p) for p in ps],
        }
        if not args.dev_only:
            scores["emb+score"] = list(predict(theta2, np.hstack([emb(ps), score[:, None]])))
        fig = {k: round(apgr(v, rows), 4) for k, v in scores.items()}
        fig["n"] = len(rows)
        if name in ("all", "mixtral-vs-gpt4 (dev prompts)"):
            lo, hi = paired_bootstrap(scores["emb"], scores["default"], rows)
            fig["emb-default 95%"] = [round(lo, 4), round(hi, 4)]
        if name in ("all", "mixtral-vs-gpt4 (dev prompts)") and not args.dev_only:
            lo, hi = paired_bootstrap(scores["emb+score"], scores["default"], rows)
            fig["emb+score-default 95%"] = [round(lo, 4), round(hi, 4)]
        out["dev"][name] = fig
        print(name, fig, flush=True)

    # Leave one source out: both routers trained without S, scored on all of S's rows.
    for held in [] if args.dev_only else sorted(set(sources) - {"easy_chat"}):
        keep = np.flatnonzero(src != held)
        wk = source_weights([sources[i] for i in keep])
        params = default.fit(keep, y[keep], wk)
        thk = fit_dense(x[keep], y[keep], wk, l2)  # the L2 chosen above, to save time
        rows = [r for r in every if r.group == held]
        ps = [r.prompt for r in rows]
        score = default.logits(params, ps)
        scores = {
            "default": list(score),
            "emb": list(predict(thk, emb(ps))),
            "length": [route_eval.length_score(p) for p in ps],
        }
        fig = {k: round(apgr(v, rows), 4) for k, v in scores.items()}
        fig["n"] = len(rows)
        lo, hi = paired_bootstrap(scores["emb"], scores["default"], rows, n=200)
        fig["emb-default 95%"] = [round(lo, 4), round(hi, 4)]
        out["loso"][held] = fig
        print("LOSO", held, fig, flush=True)
    means = (
        {}
        if args.dev_only
        else {
            k: round(float(np.mean([f[k] for f in out["loso"].values()])), 4)
            for k in ("default", "emb", "length")
        }
    )
    out["loso"]["mean over sources"] = means
    print("LOSO mean", means)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

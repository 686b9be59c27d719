"""Train the learned router (routing/router_weights.json) from ../shared/routing-data/.

    make router                      # the same as:
    .venv/bin/python tools/train_router.py --data ../shared/routing-data

Deterministic: the data are read in file order, the optimiser is full-batch gradient
descent from zeros for a fixed number of steps (no random numbers), and the weights are
written rounded to 4 decimals with sorted keys, so the same data give the same file,
byte for byte. numpy (the `dev` extra) is needed here only, never at inference.

What it trains on (never on rows whose licence forbids shipping weights):
- pairs.jsonl, `split == "train"`, every source but AlpacaEval (CC BY-NC 4.0);
- pairs_mixtral_vs_gpt4class.jsonl, the same prompts' second weak/strong pair, less the
  prompts of pairs.jsonl's dev split and AlpacaEval;
- pairs_routerarena_haiku3_vs_gemini2flash.jsonl (Apache-2.0), less dev prompts;
- tools/easy_chat.txt: synthetic greetings, thanks and everyday one-liners written for this
  project, each labelled "the weak model is enough" (the public data hold no easy chat).
Rows of one prompt are merged: the target is the share of its weak/strong pairs where the
strong model did strictly better (0/1 outcomes, grades and preferences alike).

Two fits over the same features are summed into the shipped linear model: one with an
intercept per source (what is hard within a benchmark) and, at KIND_WEIGHT, one with a
shared intercept (which kinds of work are hard). tools/loso_router.py measures the choice.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
from collections import defaultdict
from pathlib import Path

import numpy as np

from convergio_llm.routing import scorer

ROOT = Path(__file__).resolve().parents[1]

NOT_FOR_TRAINING = ("alpaca_eval",)  # CC BY-NC: evaluation only
EXTRA_FILES = ("pairs_mixtral_vs_gpt4class.jsonl", "pairs_routerarena_haiku3_vs_gemini2flash.jsonl")
# Calibrations per local-model strength (routing/scorer.py picks one by the local model's
# size): the matrix files' per-model outcomes, the models of one size class against
# frontier models, on the prompts of pairs.jsonl's dev split (held out from training, so
# their scores are what the router gives unseen prompts).
STRENGTH_MODELS = {
    "small": (  # 2-4B
        "gemma-2-2b-it", "Qwen2.5-3B-Instruct", "Phi-3.5-mini-instruct", "Phi-3-mini-4k-instruct",
    ),
    "medium": (  # 7-9B
        "Meta-Llama-3.1-8B-Instruct", "Qwen2.5-7B-Instruct", "gemma-2-9b-it",
        "Meta-Llama-3_1-8B-Instruct", "Mistral-7B-Instruct-v0.2", "Qwen1.5-7B-Chat",
    ),
}  # fmt: skip
FRONTIER = (
    "gpt-4o-2024-08-06",
    "claude-3-5-sonnet-20240620",
    "gemini-1.5-pro",
    "gemini-1.5-pro-002",
)
MATRIX_FILES = ("matrix_mmlupro.jsonl", "matrix_zeroeval_crux_math.jsonl")
# The tiny class (< 1.5B, no public data): the score quantiles of the dev prompts where
# its `medium` and `complex` thresholds sit (a prior, ROUTER_CARD.md).
TINY_QUANTILES = (0.5, 0.8)
# Cloud when the local model more likely than not falls short; the top tier when it very
# likely does.
MEDIUM_P = 0.5
COMPLEX_P = 0.7
MIN_COUNT = 3  # a word must occur in this many training prompts to get a weight
STEPS = 400
L2 = 2e-4
EASY_CHAT = ROOT / "tools" / "easy_chat.txt"
SHORT_HARD = ROOT / "tools" / "short_hard.txt"  # its counterweight: short, strong needed
# The easy chat prompts are a prior, not a benchmark: they weigh a fifth of what a source of
# their size would (5-fold cross-validation on the train split found the router's held-out
# APGR the same at 0, 0.2 and 1, so the smallest weight that keeps "hello" local is used).
EASY_WEIGHT = 0.2
# The across-source fit's share of the logit (tools/loso_router.py measures each choice).
KIND_WEIGHT = 0.5
KEEP = 3000  # the largest weights kept in the shipped file (cold start reads them all)


def read(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def training_set(
    data: Path, exclude: frozenset[str] = frozenset()
) -> tuple[list[str], np.ndarray, list[str]]:
    """Prompts, targets and sources; `exclude` leaves prompts out of every file (the
    cross-validation of tools/cv_router.py holds a fold out this way)."""
    pairs = read(data / "pairs.jsonl")
    held_out = {r["prompt"] for r in pairs if r["split"] == "dev"} | exclude
    gains: dict[str, list[float]] = defaultdict(list)
    sources: dict[str, str] = {}
    rows = [r for r in pairs if r["split"] == "train" and r["prompt"] not in exclude]
    for name in EXTRA_FILES:
        rows += [r for r in read(data / name) if r["prompt"] not in held_out]
    for r in rows:
        if r["src_dataset"] in NOT_FOR_TRAINING:
            continue
        # The score is the probability that the strong model is needed: strictly better.
        gains[r["prompt"]].append(1.0 if float(r["strong"]) > float(r["weak"]) else 0.0)
        sources.setdefault(r["prompt"], r["src_dataset"])
    for path, gain in ((EASY_CHAT, 0.0), (SHORT_HARD, 1.0)):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                gains[line.strip()].append(gain)
                sources.setdefault(line.strip(), "easy_chat")  # one synthetic source
    prompts = list(gains)
    target = np.array([sum(g) / len(g) for g in (gains[p] for p in prompts)])
    return prompts, target, [sources[p] for p in prompts]


def design(prompts: list[str], vocab: dict[str, int] | None = None):
    """CSR parts of the sparse features (counts over √words, as routing/scorer.py sums
    them), the dense block, and the vocabulary."""
    token_lists = [[scorer.token_features(t) for t in p.split()] for p in prompts]
    if vocab is None:
        df: dict[str, int] = defaultdict(int)
        for feats in token_lists:
            for f in {f for fs in feats for f in fs}:
                df[f] += 1
        kept = sorted(f for f, c in df.items() if c >= MIN_COUNT and f)
        vocab = {f: i for i, f in enumerate(kept)}
    indptr, indices, values = [0], [], []
    for feats in token_lists:
        counts: dict[int, float] = defaultdict(float)
        n = max(len(feats), 1)
        for fs in feats:
            for f in fs:
                if f in vocab:
                    counts[vocab[f]] += 1.0 / math.sqrt(n)
        for i in sorted(counts):
            indices.append(i)
            values.append(counts[i])
        indptr.append(len(indices))
    dense = np.array([scorer.dense_features(p, len(p.split())) for p in prompts])
    csr = (np.array(indptr), np.array(indices, dtype=np.int64), np.array(values))
    return csr, dense, vocab


def fit(
    csr, dense: np.ndarray, y: np.ndarray, n_vocab: int, weights: np.ndarray, groups, tied=None
):
    """Weighted logistic regression by full-batch Adam from zeros. `groups` gives each row's
    source (an index): every source gets its own intercept while training (fixed effects),
    so the word and dense weights learn what makes a prompt harder than others of its own
    benchmark rather than which benchmark it is from; the shipped bias is the intercepts'
    weighted mean. Leave-one-source-out (tools/loso_router.py) chose this: it ranks an
    unseen source's prompts better than one shared intercept does (ROUTER_CARD.md).
    The `tied` group (the synthetic prompts) has no intercept of its own: it uses the
    shipped bias, so "hello" is easy against the benchmarks, not only within its file."""
    indptr, indices, values = csr
    lengths = np.diff(indptr)
    rows = np.repeat(np.arange(len(y)), lengths)
    n_groups = int(groups.max()) + 1
    params = [np.zeros(n_vocab), np.zeros(dense.shape[1]), np.zeros(n_groups)]
    m = [np.zeros_like(p) for p in params]
    s = [np.zeros_like(p) for p in params]
    total = weights.sum()
    share = np.bincount(groups, weights=weights, minlength=n_groups)
    if tied is not None:
        share[tied] = 0.0
    share /= share.sum()  # the shipped bias: the other intercepts' weighted mean
    for step in range(1, STEPS + 1):
        w, v, b = params
        if tied is not None:
            b = b.copy()
            b[tied] = share @ b
        z = np.bincount(rows, weights=values * w[indices], minlength=len(y)) + dense @ v + b[groups]
        p = 1 / (1 + np.exp(-z))
        g = (p - y) * weights / total
        grads = [
            np.bincount(indices, weights=values * g[rows], minlength=n_vocab) + L2 * w,
            dense.T @ g,
            np.bincount(groups, weights=g, minlength=n_groups),
        ]
        if tied is not None:  # the tied group's gradient flows to the mean it uses
            grads[2] += share * grads[2][tied]
            grads[2][tied] = 0.0
        for i, grad in enumerate(grads):  # Adam, lr 0.05
            m[i] = 0.9 * m[i] + 0.1 * grad
            s[i] = 0.999 * s[i] + 0.001 * grad * grad
            mhat = m[i] / (1 - 0.9**step)
            shat = s[i] / (1 - 0.999**step)
            params[i] = params[i] - 0.05 * mhat / (np.sqrt(shat) + 1e-8)
    w, v, b = params
    return w, v, float(share @ b)


def source_weights(sources: list[str]) -> np.ndarray:
    """Each source weighs √(its share), so MMLU-Pro's thousands do not drown the rest; the
    synthetic prompts weigh EASY_WEIGHT of that."""
    per_source: dict[str, int] = defaultdict(int)
    for s in sources:
        per_source[s] += 1
    weights = np.array([1.0 / per_source[s] for s in sources])
    weights = np.sqrt(weights * len(sources) / len(per_source))
    weights[np.array(sources) == "easy_chat"] *= EASY_WEIGHT
    return weights


Fitted = tuple[np.ndarray, np.ndarray, float]  # word weights, dense weights, bias


def fit_both(
    prompts: list[str], y: np.ndarray, sources: list[str]
) -> tuple[dict[str, int], Fitted, Fitted]:
    """The vocabulary, the within-source fit (per-source intercepts) and the across-source
    fit (one shared intercept, which also learns which kind of work is harder)."""
    names_of_sources = sorted(set(sources))
    groups = np.array([names_of_sources.index(s) for s in sources])
    csr, dense, vocab = design(prompts)
    weights = source_weights(sources)
    tied = names_of_sources.index("easy_chat") if "easy_chat" in names_of_sources else None
    within = fit(csr, dense, y, len(vocab), weights, groups, tied)
    across = fit(csr, dense, y, len(vocab), weights, np.zeros(len(y), dtype=np.int64))
    return vocab, within, across


def blended(vocab: dict[str, int], within: Fitted, across: Fitted, kind: float) -> dict:
    """The shipped model's fields: logit = within + kind · across. A sum of two linear
    models is one linear model, so inference costs what one does."""
    w = within[0] + kind * across[0]
    v = within[1] + kind * across[1]
    b = within[2] + kind * across[2]
    names = list(vocab)
    # The shapes are always kept: they are what weighs a word the model has never seen.
    shapes = [i for i, name in enumerate(names) if name in scorer.SHAPES]
    words = [i for i in range(len(names)) if names[i] not in scorer.SHAPES]
    order = sorted(words, key=lambda i: (-abs(w[i]), names[i]))[: KEEP - len(shapes)] + shapes
    weights = {names[i]: round(float(w[i]), 4) for i in sorted(order, key=lambda i: names[i])}
    return {
        "bias": round(b, 4),
        "dense": {k: round(float(x), 4) for k, x in zip(scorer.DENSE, v, strict=True)},
        "weights": {k: x for k, x in weights.items() if x != 0.0},
    }


def fit_model(prompts: list[str], y: np.ndarray, sources: list[str]) -> dict:
    """The shipped model's fields (bias, dense, weights) trained on these prompts."""
    return blended(*fit_both(prompts, y, sources), KIND_WEIGHT)


def train(data: Path) -> dict:
    prompts, y, sources = training_set(data)
    per_source: dict[str, int] = defaultdict(int)
    for s in sources:
        per_source[s] += 1
    model = fit_model(prompts, y, sources)
    digest = hashlib.sha256()
    for path in (
        *(data / n for n in ("pairs.jsonl", *EXTRA_FILES, *MATRIX_FILES)),
        EASY_CHAT,
        SHORT_HARD,
    ):
        digest.update(path.read_bytes())
    return {
        "format": "convergio-llm/router/v1",
        **model,
        "calibrations": calibrations(data, json.dumps(model)),
        "trained_on": {
            "prompts": len(prompts),
            "per_source": dict(sorted(per_source.items())),
            "data_sha256": digest.hexdigest(),
        },
    }


def calibrations(data: Path, model_text: str) -> dict:
    """Per strength: the score is P(strong needed) for the training pairs' weak models
    (mostly 7-8B); a smaller local model falls short more often at the same score. So the
    score is recalibrated for each strength (Platt scaling: P = σ(a·logit(score) + b),
    fitted to how often that class's models fell short of the frontier ones), and the
    thresholds are the scores where that probability reaches MEDIUM_P and COMPLEX_P."""
    model = scorer.load(model_text)
    dev = {r["prompt"] for r in read(data / "pairs.jsonl") if r["split"] == "dev"}
    matrix = [r for name in MATRIX_FILES for r in read(data / name) if r["prompt"] in dev]
    out = {}
    for strength, weak_models in STRENGTH_MODELS.items():
        xs, ys = [], []
        for r in matrix:
            outcome = r["correct"]
            weak = [outcome[m] for m in weak_models if outcome.get(m) is not None]
            strong = [outcome[m] for m in FRONTIER if outcome.get(m) is not None]
            if weak and strong:
                behind = [float(s > w) for w in weak for s in strong]
                score = min(max(scorer.assess(r["prompt"], model)[0], 1e-6), 1 - 1e-6)
                xs.append(math.log(score / (1 - score)))
                ys.append(sum(behind) / len(behind))
        a, b = _platt(np.array(xs), np.array(ys))
        out[strength] = _thresholds(a, b, rows=len(xs))
    # A smaller class never gets higher thresholds than a larger one. With this score the
    # measured classes barely differ (their models overlap: Qwen2.5-3B and Phi-3.5-mini
    # beat Mistral-7B-v0.2 and Qwen1.5-7B on these benchmarks), so `small` is capped.
    for level in ("medium", "complex"):
        out["small"][level] = min(out["small"][level], out["medium"][level])
    # No public data measures a model under 2B, and extrapolating two classes that do not
    # differ says nothing, so `tiny` is a stated prior: such a model sends the harder half
    # of benchmark-like prompts to the cloud (the median score of the dev prompts) and the
    # hardest fifth (the 80th percentile) to the top tier, never above `small`'s.
    scores = sorted(scorer.assess(p, model)[0] for p in sorted(dev))
    out["tiny"] = {
        level: min(round(scores[int(q * len(scores))], 4), out["small"][level])
        for level, q in (("medium", TINY_QUANTILES[0]), ("complex", TINY_QUANTILES[1]))
    }
    out["tiny"]["rows"] = 0
    return out


def _thresholds(a: float, b: float, rows: int) -> dict:
    return {
        "medium": _score_at(MEDIUM_P, a, b),
        "complex": _score_at(COMPLEX_P, a, b),
        "platt": [round(a, 4), round(b, 4)],
        "rows": rows,
    }


def _platt(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    a, b = 1.0, 0.0
    for _ in range(3000):  # plain gradient descent from a fixed start: deterministic
        p = 1 / (1 + np.exp(-(a * x + b)))
        a -= 0.5 * float(np.mean((p - y) * x))
        b -= 0.5 * float(np.mean(p - y))
    return a, b


def _score_at(probability: float, a: float, b: float) -> float:
    """The shipped score at which the strength's recalibrated probability is `probability`."""
    x = (math.log(probability / (1 - probability)) - b) / a
    return round(1 / (1 + math.exp(-x)), 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "routing-data"))
    parser.add_argument("--out", default=str(ROOT / "routing" / scorer.WEIGHTS_FILE))
    args = parser.parse_args()
    model = train(Path(args.data))
    # routing/scorer.py reads the weights from their line to the file's end.
    if max(model) != "weights":
        raise SystemExit(f"train_router: key {max(model)!r} would sort after 'weights'")
    text = json.dumps(model, sort_keys=True, indent=0, ensure_ascii=False) + "\n"
    Path(args.out).write_text(text, encoding="utf-8")
    trained_on = model["trained_on"]["prompts"]
    print(f"wrote {args.out}: {len(model['weights'])} weights, {trained_on} prompts")


if __name__ == "__main__":
    main()

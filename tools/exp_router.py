"""Scratch experiments (not shipped): LOSO per source for design variants."""

from __future__ import annotations

import math
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import train_router as tr  # noqa: E402

from convergio_llm.routing.route_eval import Row, evaluate  # noqa: E402

DATA = Path("../shared/routing-data")

NUM = re.compile(r"\d+(?:[.,]\d+)*")
OPS = re.compile(r"[=+\-*/^<>≤≥×÷√∑∫]")
OPTION = re.compile(r"(?m)^\s*\(?[A-Ja-j][).:]\s+\S")
LATEX = re.compile(r"\$|\\[a-z]+")
SENT = re.compile(r"[.!?](?:\s|$)")
TURN = re.compile(r"(?mi)^(?:user|assistant|human|ai|q|a)\s*:")


def signals(text: str) -> list[float]:
    options = OPTION.findall(text)
    lines = text.split("\n")
    opt_lines = [ln for ln in lines if OPTION.match(ln)]
    opt_len = sum(len(ln.split()) for ln in opt_lines) / len(opt_lines) if opt_lines else 0.0
    return [
        math.log1p(len(NUM.findall(text))),
        math.log1p(len(OPS.findall(text))),
        math.log1p(len(options)),
        math.log1p(opt_len),
        math.log1p(len(LATEX.findall(text))),
        math.log1p(len(SENT.findall(text))),
        math.log1p(len(TURN.findall(text))),
        math.log1p(max((len(w) for w in text.split()), default=0)),
        sum(c.isdigit() for c in text) / max(len(text), 1),
    ]


def bigrams(prompts):
    out = []
    for p in prompts:
        keys = [tr.scorer.key_of(t) for t in p.split()]
        out.append(["_" + a + " " + b for a, b in zip(keys, keys[1:], strict=False) if a and b])
    return out


def design(prompts, vocab=None, use_bigrams=False, min_count=3):
    token_lists = [[tr.scorer.token_features(t) for t in p.split()] for p in prompts]
    if use_bigrams:
        bg = bigrams(prompts)
        token_lists = [tl + [[b] for b in bgs] for tl, bgs in zip(token_lists, bg, strict=True)]
    if vocab is None:
        df = defaultdict(int)
        for feats in token_lists:
            for f in {f for fs in feats for f in fs}:
                df[f] += 1
        kept = sorted(f for f, c in df.items() if c >= min_count and f)
        vocab = {f: i for i, f in enumerate(kept)}
    indptr, indices, values = [0], [], []
    for p, feats in zip(prompts, token_lists, strict=True):
        counts = defaultdict(float)
        n = max(len(p.split()), 1)
        for fs in feats:
            for f in fs:
                if f in vocab:
                    counts[vocab[f]] += 1.0 / math.sqrt(n)
        for i in sorted(counts):
            indices.append(i)
            values.append(counts[i])
        indptr.append(len(indices))
    return (np.array(indptr), np.array(indices, dtype=np.int64), np.array(values)), vocab


def fit(csr, dense, y, n_vocab, weights, steps=400, l2=2e-4, l2_dense=0.0):
    indptr, indices, values = csr
    rows = np.repeat(np.arange(len(y)), np.diff(indptr))
    params = [np.zeros(n_vocab), np.zeros(dense.shape[1]), np.zeros(1)]
    m = [np.zeros_like(p) for p in params]
    s = [np.zeros_like(p) for p in params]
    total = weights.sum()
    for step in range(1, steps + 1):
        w, v, b = params
        z = np.bincount(rows, weights=values * w[indices], minlength=len(y)) + dense @ v + b[0]
        p = 1 / (1 + np.exp(-z))
        g = (p - y) * weights / total
        grads = [
            np.bincount(indices, weights=values * g[rows], minlength=n_vocab) + l2 * w,
            dense.T @ g + l2_dense * v,
            np.array([g.sum()]),
        ]
        for i, grad in enumerate(grads):
            m[i] = 0.9 * m[i] + 0.1 * grad
            s[i] = 0.999 * s[i] + 0.001 * grad * grad
            mhat = m[i] / (1 - 0.9**step)
            shat = s[i] / (1 - 0.999**step)
            params[i] = params[i] - 0.05 * mhat / (np.sqrt(shat) + 1e-8)
    return params


def score(csr, dense, params):
    indptr, indices, values = csr
    rows = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    w, v, b = params
    return np.bincount(rows, weights=values * w[indices], minlength=len(indptr) - 1) + dense @ v


def load():
    prompts, y, sources = tr.training_set(DATA)
    pairs = tr.read(DATA / "pairs.jsonl")
    evalrows = defaultdict(list)
    for r in pairs:
        if r["split"] == "train":
            evalrows[r["src_dataset"]].append(Row(r["prompt"], float(r["weak"]), float(r["strong"])))
    return prompts, y, sources, evalrows


def run(cfg, prompts, y, sources, evalrows, dense_all, dense_mask, held=None):
    """LOSO: per held-out source, train on the others, APGR within the source's train rows."""
    results = {}
    sources_arr = np.array(sources)
    for s in held or sorted(evalrows):
        keep = sources_arr != s
        tp = [p for p, k in zip(prompts, keep, strict=True) if k]
        ts = sources_arr[keep]
        csr, vocab = design(tp, use_bigrams=cfg.get("bigrams", False))
        dense = dense_all[keep][:, dense_mask]
        per = defaultdict(int)
        for x in ts:
            per[x] += 1
        sw = np.array([1.0 / per[x] for x in ts])
        sw = np.sqrt(sw * len(tp) / len(per)) ** cfg.get("balance", 1.0)
        sw[ts == "easy_chat"] *= 0.2
        if cfg.get("fe"):
            names = sorted(set(ts))
            onehot = np.array([[1.0 if x == n else 0.0 for n in names] for x in ts])
            dfe = np.hstack([dense, onehot])
        else:
            dfe = dense
        params = fit(csr, dfe, y[keep], len(vocab), sw, l2=cfg.get("l2", 2e-4), steps=cfg.get("steps", 400))
        if cfg.get("fe"):
            params[1] = params[1][: dense.shape[1]]
        rows = evalrows[s]
        ep = [r.prompt for r in rows]
        ecsr, _ = design(ep, vocab, use_bigrams=cfg.get("bigrams", False))
        idx = {p: i for i, p in enumerate(prompts)}
        edense = np.array([DENSE_CACHE[p] for p in ep])[:, dense_mask]
        sc = score(ecsr, edense, params)
        results[s] = evaluate(list(sc), rows).apgr
    return results


DENSE_CACHE: dict[str, np.ndarray] = {}


def main():
    prompts, y, sources, evalrows = load()
    allp = set(prompts) | {r.prompt for rows in evalrows.values() for r in rows}
    for p in allp:
        DENSE_CACHE[p] = np.array(list(tr.scorer.dense_features(p, len(p.split()))) + signals(p))
    dense_all = np.array([DENSE_CACHE[p] for p in prompts])
    base = [True] * 4 + [False] * 9
    full = [True] * 13
    length = {s: evaluate([float(len(r.prompt)) for r in rows], rows).apgr for s, rows in evalrows.items()}
    print("length", {k: round(v, 3) for k, v in length.items()}, flush=True)
    import json
    configs = json.loads(sys.argv[1])
    for name, cfg in configs.items():
        t = time.time()
        mask = np.array(full if cfg.get("signals") else base)
        res = run(cfg, prompts, y, sources, evalrows, dense_all, mask, cfg.get("held"))
        mean = sum(res.values()) / len(res)
        print(name, f"mean {mean:.3f}", {k: round(v, 3) for k, v in res.items()}, f"{time.time()-t:.0f}s", flush=True)


if __name__ == "__main__":
    main()

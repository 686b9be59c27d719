"""A tiny random-weight llama model and tokenizer that mlx-lm loads offline.

Built once per test session by the `tiny_mlx_model` fixture in tests/conftest.py (a few
seconds), after /work/shared/reference/make_tiny_mlx.py: a byte-level BPE tokenizer trained
on a one-line corpus and a 2-layer, 32-wide llama. The text it generates is noise; tests
check plumbing (streaming, usage, timings), not quality.
"""

from __future__ import annotations

import json
from pathlib import Path

TINY_CORPUS = ["hello world, this is a tiny test corpus for a tiny model."] * 50
CHAT_TEMPLATE = (
    "{% for m in messages %}<s>{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant: {% endif %}"
)


def make_tiny_mlx_model(out_dir: Path) -> Path:
    """Write config.json, tokenizer files and model.safetensors into out_dir; return it."""
    import mlx.core as mx
    from mlx.utils import tree_flatten
    from mlx_lm.models import llama
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    out_dir.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)  # type: ignore[assignment]
    tok.decoder = decoders.ByteLevel()  # type: ignore[assignment]
    trainer = trainers.BpeTrainer(
        vocab_size=300,
        special_tokens=["<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(TINY_CORPUS, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>")
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(out_dir)

    config = {
        "model_type": "llama",
        "hidden_size": 32,
        "num_hidden_layers": 2,
        "intermediate_size": 64,
        "num_attention_heads": 4,
        "num_key_value_heads": 4,
        "rms_norm_eps": 1e-5,
        "vocab_size": len(fast),
        "max_position_embeddings": 256,
        "rope_theta": 10000.0,
        "tie_word_embeddings": True,
        "bos_token_id": fast.bos_token_id,
        "eos_token_id": fast.eos_token_id,
    }
    (out_dir / "config.json").write_text(json.dumps(config))
    model = llama.Model(llama.ModelArgs.from_dict(config))
    mx.random.seed(0)
    weights = dict(tree_flatten(model.parameters()))
    mx.save_safetensors(str(out_dir / "model.safetensors"), weights, metadata={"format": "mlx"})
    return out_dir


# Modules that import the fixture from here still get it; it lives in tests/conftest.py so
# that one session builds one model, not one per importing module.
from tests.conftest import tiny_mlx_model  # noqa: E402

__all__ = ["make_tiny_mlx_model", "tiny_mlx_model"]

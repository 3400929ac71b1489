"""A seeded, randomly initialised Qwen3-architecture causal LM small enough to train on a CPU in tests, written as a
Hugging Face model dir (config.json, generation_config.json, model.safetensors, the tokenizer files)."""

from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import AutoTokenizer, GenerationConfig, Qwen3Config, Qwen3ForCausalLM

from tmax_learner.model.tokenizer_files import copy_tokenizer_files


@dataclass(frozen=True)
class TinyDims:
    layers: int = 2
    hidden: int = 64
    intermediate: int = 128
    heads: int = 4
    kv_heads: int = 2
    head_dim: int = 16
    max_positions: int = 4096


def tiny_dims(
    layers: int | None = None,
    hidden: int | None = None,
    intermediate: int | None = None,
    heads: int | None = None,
    kv_heads: int | None = None,
) -> TinyDims:
    """TinyDims with the given sizes (None: the default); the MLP is 2 * hidden and head_dim hidden / heads unless
    given, as in the default. Raises ValueError for sizes that do not fit together."""
    base = TinyDims()
    hidden = base.hidden if hidden is None else hidden
    heads = base.heads if heads is None else heads
    kv_heads = base.kv_heads if kv_heads is None else kv_heads
    layers = base.layers if layers is None else layers
    if min(hidden, heads, kv_heads, layers) < 1:
        raise ValueError("layers, hidden, heads and kv-heads must be positive")
    if hidden % heads or heads % kv_heads:
        raise ValueError(f"hidden ({hidden}) must divide by heads ({heads}) and heads by kv-heads ({kv_heads})")
    if (hidden // heads) % 2:
        raise ValueError(f"the head dim hidden / heads = {hidden // heads} must be even (rotary embeddings)")
    return TinyDims(
        layers=layers,
        hidden=hidden,
        intermediate=2 * hidden if intermediate is None else intermediate,
        heads=heads,
        kv_heads=kv_heads,
        head_dim=hidden // heads,
        max_positions=base.max_positions,
    )


def tiny_qwen3_config(vocab_size: int, eos_token_id: int, pad_token_id: int | None, dims: TinyDims) -> Qwen3Config:
    return Qwen3Config(
        vocab_size=vocab_size,
        hidden_size=dims.hidden,
        intermediate_size=dims.intermediate,
        num_hidden_layers=dims.layers,
        num_attention_heads=dims.heads,
        num_key_value_heads=dims.kv_heads,
        head_dim=dims.head_dim,
        max_position_embeddings=dims.max_positions,
        tie_word_embeddings=True,
        eos_token_id=eos_token_id,
        pad_token_id=pad_token_id,
        bos_token_id=None,
        dtype="float32",
    )


def make_tiny_model(out: Path, tokenizer_dir: Path, seed: int = 0, dims: TinyDims | None = None) -> Path:
    """Writes the model dir `out`; the same seed and tokenizer give the same weights. The vocabulary is the
    tokenizer's full size (special tokens included), so every id it produces has an embedding row."""
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    eos = tokenizer.eos_token_id
    if not isinstance(eos, int):
        raise ValueError(f"{tokenizer_dir}: the tokenizer has no EOS token")
    pad = tokenizer.pad_token_id if isinstance(tokenizer.pad_token_id, int) else None
    config = tiny_qwen3_config(len(tokenizer), eos, pad, dims or TinyDims())
    generator_state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        model = Qwen3ForCausalLM(config)
    finally:
        torch.random.set_rng_state(generator_state)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out), safe_serialization=True)
    GenerationConfig(  # type: ignore[no-untyped-call]
        eos_token_id=eos, pad_token_id=pad, do_sample=True, temperature=1.0, top_p=1.0
    ).save_pretrained(str(out))
    copy_tokenizer_files(tokenizer_dir, out)
    return out

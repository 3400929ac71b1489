"""The tiny model dir is a loadable Hugging Face Qwen3 causal LM with the real tokenizer, and seeded."""

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoTokenizer

from tmax_learner.__main__ import main
from tmax_learner.model.policy_model import load_policy_model


def test_tiny_model_dir_has_hf_layout_and_the_tokenizers_vocabulary(tiny_model_dir: Path) -> None:
    for name in (
        "config.json",
        "generation_config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
    ):
        assert (tiny_model_dir / name).is_file(), name
    config = json.loads((tiny_model_dir / "config.json").read_text())
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model_dir))
    assert config["model_type"] == "qwen3"
    assert config["num_hidden_layers"] == 2 and config["hidden_size"] == 64
    assert config["vocab_size"] == len(tokenizer)
    assert tokenizer.chat_template and "<|im_start|>" in tokenizer.chat_template
    policy = load_policy_model(tiny_model_dir, torch.device("cpu"))
    ids = tokenizer.apply_chat_template(
        [{"role": "user", "content": "ls"}], add_generation_prompt=True, tokenize=True, return_dict=False
    )
    assert isinstance(ids, list) and all(isinstance(i, int) for i in ids)
    row = torch.tensor(ids, dtype=torch.int32)
    scored = policy.row_logprobs(row, torch.arange(len(ids)), torch.ones(len(ids), dtype=torch.int32))
    assert scored.logprobs.shape == (len(ids) - 1,) and bool(torch.isfinite(scored.logprobs).all())


def test_same_seed_gives_the_same_weights_and_another_seed_others(
    tiny_model_dir: Path, tokenizer_dir: Path, tmp_path: Path
) -> None:
    assert main(["make-tiny-model", str(tmp_path / "again"), "--tokenizer-dir", str(tokenizer_dir), "--seed", "0"]) == 0
    assert main(["make-tiny-model", str(tmp_path / "other"), "--tokenizer-dir", str(tokenizer_dir), "--seed", "1"]) == 0
    first = load_file(str(tiny_model_dir / "model.safetensors"))
    again = load_file(str(tmp_path / "again" / "model.safetensors"))
    other = load_file(str(tmp_path / "other" / "model.safetensors"))
    assert first.keys() == again.keys()
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert not torch.equal(first["model.embed_tokens.weight"], other["model.embed_tokens.weight"])


def test_sizes_from_the_command_line(tokenizer_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "wider"
    args = ["make-tiny-model", str(out), "--tokenizer-dir", str(tokenizer_dir), "--layers", "3", "--hidden", "96"]
    assert main([*args, "--heads", "6", "--kv-heads", "3"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert (config["num_hidden_layers"], config["hidden_size"], config["intermediate_size"]) == (3, 96, 192)
    assert (config["num_attention_heads"], config["num_key_value_heads"], config["head_dim"]) == (6, 3, 16)
    capsys.readouterr()
    bad = ["make-tiny-model", str(tmp_path / "bad"), "--tokenizer-dir", str(tokenizer_dir), "--hidden", "90"]
    assert main(bad) == 1
    assert "must divide by heads" in capsys.readouterr().err
    assert main([*bad[:-1], "100"]) == 1
    assert "must be even" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()

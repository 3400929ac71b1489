"""Checkpoints (spec §10): Hugging Face weights every N steps, and full resume state every M steps keeping the last K.

  <root>/step_<n>/            save_pretrained (model.safetensors, config.json, generation_config.json) + the
                              tokenizer files: a model dir the inference engine (or load_policy_model) can load.
  <root>/resume/step_<n>/     the same model dir, plus optimizer.pt (AdamW state_dict), rng.pt (torch, numpy and
                              Python RNG states) and state.json {"step", "data_position"}.

The data position is the caller's (e.g. the prompt stream's cursor), stored as given. Every dir is written under a
temporary name and renamed into place, so a dir that exists is complete.
"""

import json
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.distributed.checkpoint.state_dict import (
    StateDictOptions,
    get_model_state_dict,
    get_optimizer_state_dict,
    set_optimizer_state_dict,
)

from tmax_learner.model.policy_model import PolicyModel, load_policy_model
from tmax_learner.model.tokenizer_files import copy_tokenizer_files
from tmax_learner.train.data_parallel import is_distributed, rank
from tmax_learner.train.sharding import Sharding, shard_policy, wants_fsdp2
from tmax_learner.train.train_step import TrainConfig, make_optimizer

RESUME_DIR = "resume"
STATE_FILE = "state.json"
OPTIMIZER_FILE = "optimizer.pt"
RNG_FILE = "rng.pt"


@dataclass(frozen=True)
class CheckpointSchedule:
    hf_every: int = 20
    resume_every: int = 10
    keep_resume: int = 3

    def __post_init__(self) -> None:
        if min(self.hf_every, self.resume_every, self.keep_resume) < 1:
            raise ValueError("checkpoint intervals and keep count must be ≥ 1")

    def hf_due(self, step: int) -> bool:
        return step % self.hf_every == 0

    def resume_due(self, step: int) -> bool:
        return step % self.resume_every == 0


@dataclass
class ResumedTraining:
    policy: PolicyModel
    optimizer: torch.optim.AdamW
    step: int
    data_position: Any


def step_dir_name(step: int) -> str:
    return f"step_{step}"


def _write_dir_atomically(final: Path, write: Any) -> Path:
    partial = final.with_name(final.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    write(partial)
    shutil.rmtree(final, ignore_errors=True)
    partial.rename(final)
    return final


def _full_state_options() -> StateDictOptions:
    # Under torch.distributed: gathered onto rank 0's CPU (the other ranks get an empty dict).
    return StateDictOptions(full_state_dict=True, cpu_offload=is_distributed())


def _model_state(policy: PolicyModel) -> dict[str, Any] | None:
    """The full weights when they are sharded (a collective: every rank calls it); None when each rank has them."""
    return get_model_state_dict(policy.model, options=_full_state_options()) if policy.sharded else None


def _save_model_dir(policy: PolicyModel, state: dict[str, Any] | None, tokenizer_dir: Path, out: Path) -> None:
    if state is None:
        policy.model.save_pretrained(str(out), safe_serialization=True)
    else:
        policy.model.save_pretrained(str(out), state_dict=state, safe_serialization=True)
    copy_tokenizer_files(tokenizer_dir, out)


def save_hf_checkpoint(policy: PolicyModel, root: Path, step: int, tokenizer_dir: Path) -> Path | None:
    """`root/step_<step>/`: the weights as a Hugging Face model dir with the tokenizer alongside. Under
    torch.distributed every rank calls it and rank 0 writes (the others get None)."""
    state = _model_state(policy)
    if rank() != 0:
        return None
    return _write_dir_atomically(
        root / step_dir_name(step), lambda out: _save_model_dir(policy, state, tokenizer_dir, out)
    )


def _rng_states() -> dict[str, Any]:
    return {
        "torch": torch.random.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": np.random.get_state(),
        "python": random.getstate(),
    }


def _restore_rng_states(states: dict[str, Any]) -> None:
    torch.random.set_rng_state(states["torch"])
    if states["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
    np.random.set_state(states["numpy"])
    random.setstate(states["python"])


def save_resume_state(
    policy: PolicyModel,
    optimizer: torch.optim.Optimizer,
    root: Path,
    step: int,
    tokenizer_dir: Path,
    data_position: Any = None,
    keep_last: int = 3,
) -> Path | None:
    """`root/resume/step_<step>/`, then deletes all but the newest `keep_last` resume dirs. Every rank calls it;
    rank 0 writes (the others get None). The optimizer state is saved whole and keyed by parameter name
    (torch.distributed.checkpoint's full form): the same file whether it came from replicas or FSDP2 shards."""
    state = _model_state(policy)
    moments = get_optimizer_state_dict(policy.model, optimizer, options=_full_state_options())
    if rank() != 0:
        return None

    def write(out: Path) -> None:
        _save_model_dir(policy, state, tokenizer_dir, out)
        torch.save(moments, out / OPTIMIZER_FILE)
        torch.save(_rng_states(), out / RNG_FILE)
        (out / STATE_FILE).write_text(json.dumps({"step": step, "data_position": data_position}) + "\n")

    saved = _write_dir_atomically(root / RESUME_DIR / step_dir_name(step), write)
    for old in resume_dirs(root)[:-keep_last]:
        shutil.rmtree(old)
    return saved


def resume_dirs(root: Path) -> list[Path]:
    """Complete resume dirs under `root`, oldest first."""
    base = root / RESUME_DIR
    if not base.is_dir():
        return []
    found = [d for d in base.iterdir() if d.is_dir() and d.name.startswith("step_") and (d / STATE_FILE).is_file()]
    return sorted(found, key=lambda d: int(d.name.removeprefix("step_")))


def load_resume_state(
    resume_dir: Path,
    config: TrainConfig,
    device: torch.device | None = None,
    head_chunk_size: int = 1024,
    sharding: Sharding = "auto",
) -> ResumedTraining:
    """The policy (sharded as `sharding` says), its AdamW with the saved moments, the step and data position; RNG
    states restored. Every rank reads the files."""
    state = json.loads((resume_dir / STATE_FILE).read_text())
    policy = load_policy_model(resume_dir, device, head_chunk_size=head_chunk_size)
    if wants_fsdp2(sharding, policy.device):
        shard_policy(policy)
    optimizer = make_optimizer(policy, config)
    moments = torch.load(resume_dir / OPTIMIZER_FILE, map_location=policy.device, weights_only=True)
    set_optimizer_state_dict(policy.model, optimizer, moments, options=StateDictOptions(full_state_dict=True))
    _restore_rng_states(torch.load(resume_dir / RNG_FILE, weights_only=False))
    return ResumedTraining(policy, optimizer, int(state["step"]), state["data_position"])

"""Checkpoints: a resumed run's next step is bit-identical to the uninterrupted run's; HF checkpoints load as model
dirs with the tokenizer; only the last K resume states are kept."""

from pathlib import Path

import torch
from transformers import AutoTokenizer

from tmax_learner.model.policy_model import PolicyModel, load_policy_model
from tmax_learner.train.checkpoints import (
    CheckpointSchedule,
    load_resume_state,
    resume_dirs,
    save_hf_checkpoint,
    save_resume_state,
)
from tmax_learner.train.packed_batch import PackedRow
from tmax_learner.train.synthetic_rows import pack_row, random_trajectory
from tmax_learner.train.train_step import TrainConfig, make_optimizer, train_step

CPU = torch.device("cpu")
CONFIG = TrainConfig(loss="dppo", learning_rate=1e-3, weight_decay=0.01, max_grad_norm=1.0)


def batches(count: int) -> list[list[PackedRow]]:
    generator = torch.Generator().manual_seed(6)
    return [
        [pack_row([random_trajectory(generator, 3, 6, 1.0), random_trajectory(generator, 3, 5, -1.0)])]
        for _ in range(count)
    ]


def parameters(policy: PolicyModel) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in policy.model.named_parameters()}


def test_resuming_gives_a_bit_identical_next_step(tiny_model_dir: Path, tmp_path: Path) -> None:
    data = batches(3)
    policy = load_policy_model(tiny_model_dir, CPU, head_chunk_size=64)
    optimizer = make_optimizer(policy, CONFIG)
    for batch in data:
        assert train_step(policy, optimizer, batch, CONFIG).applied
    uninterrupted = parameters(policy)

    policy = load_policy_model(tiny_model_dir, CPU, head_chunk_size=64)
    optimizer = make_optimizer(policy, CONFIG)
    for batch in data[:2]:
        train_step(policy, optimizer, batch, CONFIG)
    save_resume_state(policy, optimizer, tmp_path, 2, tiny_model_dir, data_position={"prompt": 16})
    expected_draw = torch.rand(3)
    del policy, optimizer
    torch.manual_seed(1234)  # the restore must undo this

    resumed = load_resume_state(tmp_path / "resume" / "step_2", CONFIG, CPU, head_chunk_size=64)
    assert resumed.step == 2 and resumed.data_position == {"prompt": 16}
    assert torch.equal(torch.rand(3), expected_draw)
    assert train_step(resumed.policy, resumed.optimizer, data[resumed.step], CONFIG).applied
    after = parameters(resumed.policy)
    assert after.keys() == uninterrupted.keys()
    for name, value in uninterrupted.items():
        assert torch.equal(after[name], value), f"{name} differs after resuming"


def test_hf_checkpoint_is_a_model_dir_with_the_tokenizer(tiny_model_dir: Path, tmp_path: Path) -> None:
    policy = load_policy_model(tiny_model_dir, CPU, head_chunk_size=64)
    train_step(policy, make_optimizer(policy, CONFIG), batches(1)[0], CONFIG)
    saved = save_hf_checkpoint(policy, tmp_path, 20, tiny_model_dir)
    assert saved == tmp_path / "step_20"
    assert (saved / "model.safetensors").is_file() and (saved / "config.json").is_file()
    assert len(AutoTokenizer.from_pretrained(str(saved))) == policy.model.config.vocab_size
    reloaded = load_policy_model(saved, CPU)
    for name, value in parameters(policy).items():
        assert torch.equal(dict(reloaded.model.named_parameters())[name].detach(), value), name


def test_only_the_last_k_resume_states_are_kept(tiny_model_dir: Path, tmp_path: Path) -> None:
    policy = load_policy_model(tiny_model_dir, CPU, head_chunk_size=64)
    optimizer = make_optimizer(policy, CONFIG)
    schedule = CheckpointSchedule(hf_every=20, resume_every=10, keep_resume=2)
    for step in range(1, 41):
        if schedule.resume_due(step):
            save_resume_state(policy, optimizer, tmp_path, step, tiny_model_dir, keep_last=schedule.keep_resume)
    assert [d.name for d in resume_dirs(tmp_path)] == ["step_30", "step_40"]
    assert sorted(p.name for p in (tmp_path / "resume").iterdir()) == ["step_30", "step_40"]

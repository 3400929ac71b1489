"""Two gloo ranks on CPU take the same AdamW step as one process on the whole batch: the token mean's N is
all-reduced and the gradients summed, so the net gradient is Σ∇l/N however the rows are split."""

import socket
from pathlib import Path

import pytest
import torch
from data_parallel_worker import run_rank
from safetensors.torch import load_file
from torch.multiprocessing.spawn import spawn

from tmax_learner.model.policy_model import load_policy_model
from tmax_learner.train.packed_batch import load_batch, save_batch
from tmax_learner.train.synthetic_rows import pack_row, random_trajectory
from tmax_learner.train.train_step import TrainConfig, make_optimizer, train_step


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("sharding", ["replicate", "fsdp2"])
def test_two_ranks_take_the_single_process_step(tiny_model_dir: Path, tmp_path: Path, sharding: str) -> None:
    generator = torch.Generator().manual_seed(5)
    # Unequal shares: rank 0 gets rows 0 and 1 (19 response tokens), rank 1 row 2 (8): a per-rank token mean, or
    # DDP's gradient averaging, would give another step. Contiguous shares keep the order in which the gradients
    # are summed the same as in one process, so AdamW's first step (≈ lr·sign(g), which amplifies rounding in
    # near-zero gradients) cannot turn float noise into a difference.
    rows = [
        pack_row([random_trajectory(generator, 4, 9, 1.0), random_trajectory(generator, 3, 6, -1.0)]),
        pack_row([random_trajectory(generator, 5, 4, -1.0)], first_index=2),
        pack_row([random_trajectory(generator, 2, 8, 0.5)], first_index=3, pad_to=12),
    ]
    batch = tmp_path / "batch.safetensors"
    save_batch(batch, rows)

    policy = load_policy_model(tiny_model_dir, torch.device("cpu"), head_chunk_size=64)
    config = TrainConfig(loss="dppo", learning_rate=1e-3)
    gradients: dict[str, torch.Tensor] = {}
    names = {id(p): name for name, p in policy.model.named_parameters()}

    def keep(parameters: list[torch.nn.Parameter]) -> None:
        gradients.update({names[id(p)]: p.grad.clone() for p in parameters if p.grad is not None})

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as in the ranks: kernels split over other thread counts round differently
    try:
        single = train_step(policy, make_optimizer(policy, config), load_batch(batch), config, on_gradients=keep)
    finally:
        torch.set_num_threads(threads)
    assert single.applied and gradients

    rank_args = (2, free_port(), str(tiny_model_dir), str(batch), str(tmp_path), sharding)
    spawn(run_rank, args=rank_args, nprocs=2, join=True)  # type: ignore[no-untyped-call]
    ranks = [load_file(str(tmp_path / f"rank{r}.safetensors")) for r in range(2)]
    # The summed gradient is the single process's Σ∇l/N (AdamW's first step alone would hide a wrong scale).
    for name, gradient in gradients.items():
        scale = float(gradient.abs().max())
        torch.testing.assert_close(ranks[0][f"grad.{name}"], gradient, rtol=1e-5, atol=1e-6 * scale, msg=name)
    for name, parameter in policy.model.named_parameters():
        torch.testing.assert_close(ranks[0][name], parameter.detach(), rtol=0, atol=1e-6, msg=name)
        assert torch.equal(ranks[0][name], ranks[1][name]), f"ranks disagree on {name}"
    # Rank 0 wrote the weights as a model dir (under FSDP2, gathered from the shards): they load as the updated model.
    saved = load_policy_model(tmp_path / "hf" / "step_1", torch.device("cpu"))
    for name, parameter in saved.model.named_parameters():
        torch.testing.assert_close(parameter.detach(), ranks[0][name], rtol=0, atol=0, msg=name)
    assert not (tmp_path / "hf" / "step_1.partial").exists()

    single_stats = single.to_json()
    for rank in ranks:
        assert int(rank["report.tokens"]) == single.tokens
        assert abs(float(rank["report.loss"]) - single.loss) < 1e-6
        # Every statistic covers all ranks' tokens: each rank reports what the single process does.
        stats = {key[len("stat.") :]: float(value) for key, value in rank.items() if key.startswith("stat.")}
        assert {"kept_fraction", "logprob_diff_max", "entropy_mean", "row_tokens", "response_tokens"} <= stats.keys()
        for key, value in stats.items():
            expected = single_stats[key]
            assert isinstance(expected, int | float), key
            # grad_norm is the norm of the summed gradient, which matches the single process only to rtol 1e-5
            # (above); under FSDP2 the squares are summed per shard and then across ranks, in another order.
            rtol = 1e-5 if key == "grad_norm" else 1e-6
            assert abs(value - float(expected)) <= rtol * max(1.0, abs(float(expected))), (key, value, expected)

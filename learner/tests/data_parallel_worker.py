"""A data-parallel rank for test_data_parallel.py (run by torch.multiprocessing.spawn; gloo on localhost)."""

from pathlib import Path

import torch
import torch.distributed as dist
from safetensors.torch import save_file

from tmax_learner.model.policy_model import load_policy_model
from tmax_learner.train.checkpoints import save_hf_checkpoint
from tmax_learner.train.packed_batch import PackedRow, load_batch
from tmax_learner.train.sharding import full_tensor, shard_policy
from tmax_learner.train.train_step import TrainConfig, make_optimizer, train_step


def contiguous_share(rows: list[PackedRow], rank: int, world: int) -> list[PackedRow]:
    """Rank r's rows: a contiguous slice, the first ranks taking one more when the rows do not divide evenly."""
    base, extra = divmod(len(rows), world)
    start = rank * base + min(rank, extra)
    return rows[start : start + base + (1 if rank < extra else 0)]


def run_rank(rank: int, world: int, port: int, model_dir: str, batch: str, out: str, sharding: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        policy = load_policy_model(Path(model_dir), torch.device("cpu"), head_chunk_size=64)
        if sharding == "fsdp2":
            shard_policy(policy)
        config = TrainConfig(loss="dppo", learning_rate=1e-3)
        rows = contiguous_share(load_batch(Path(batch)), rank, world)
        names = {id(p): name for name, p in policy.model.named_parameters()}
        gradients: dict[str, torch.Tensor] = {}

        def keep(parameters: list[torch.nn.Parameter]) -> None:
            gradients.update(
                {f"grad.{names[id(p)]}": full_tensor(p.grad).clone() for p in parameters if p.grad is not None}
            )

        report = train_step(policy, make_optimizer(policy, config), rows, config, on_gradients=keep)
        weights = {name: full_tensor(p.detach()).contiguous() for name, p in policy.model.named_parameters()}
        save_hf_checkpoint(policy, Path(out) / "hf", 1, Path(model_dir))
        weights.update(gradients)
        weights["report.loss"] = torch.tensor(report.loss, dtype=torch.float64)
        weights["report.tokens"] = torch.tensor(report.tokens)
        timing = ("seconds", "tokens_per_second")
        for key, value in report.to_json().items():
            if isinstance(value, int | float) and not isinstance(value, bool) and key not in timing:
                weights[f"stat.{key}"] = torch.tensor(float(value), dtype=torch.float64)
        save_file(weights, str(Path(out) / f"rank{rank}.safetensors"))
    finally:
        dist.destroy_process_group()

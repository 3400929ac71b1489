"""Data parallelism by summing gradients over ranks (torch.distributed; gloo on CPU, NCCL on GPU).

Each rank computes its rows' loss divided by the *global* N (all-reduced first), so after a SUM all-reduce of the
gradients every rank holds Σ_t ∇l_t / N whatever the split of rows — the spec's normalisation (§6) without the
world-size factor DDP's averaging would need. All ranks then take the identical AdamW step.
"""

import os

import torch
import torch.distributed as dist


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized()


def world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def init_from_environment() -> bool:
    """Joins the process group torchrun describes (WORLD_SIZE, RANK, MASTER_ADDR, …); False when not launched so."""
    if is_distributed() or int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return is_distributed()
    dist.init_process_group(backend="nccl" if torch.cuda.is_available() else "gloo")
    return True


def sum_over_ranks(value: torch.Tensor) -> torch.Tensor:
    """In place: the element-wise sum over ranks (a no-op on one process)."""
    if is_distributed():
        dist.all_reduce(value, op=dist.ReduceOp.SUM)
    return value


def max_over_ranks(value: int) -> int:
    """The largest of every rank's value (the value itself on one process)."""
    if not is_distributed():
        return value
    box = torch.tensor([value], dtype=torch.int64)
    dist.all_reduce(box, op=dist.ReduceOp.MAX)
    return int(box.item())


def sum_gradients_over_ranks(parameters: list[torch.nn.Parameter]) -> None:
    """Sums every parameter's gradient over ranks, as one flat buffer (a parameter without a gradient counts 0)."""
    if not is_distributed() or not parameters:
        return
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in parameters]
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    offset = 0
    for parameter, grad in zip(parameters, grads, strict=True):
        count = grad.numel()
        parameter.grad = flat[offset : offset + count].view_as(parameter).clone()
        offset += count


def gather_over_ranks(value: torch.Tensor) -> torch.Tensor:
    """The 1-D tensors of every rank concatenated in rank order (lengths may differ); the tensor itself on one
    process. For statistics, not for gradients."""
    if not is_distributed():
        return value
    parts: list[torch.Tensor | None] = [None] * world_size()
    dist.all_gather_object(parts, value.detach().cpu())
    return torch.cat([part for part in parts if part is not None])

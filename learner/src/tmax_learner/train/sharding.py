"""FSDP2: the policy's parameters, gradients and AdamW moments sharded over the data-parallel ranks.

Each decoder layer is its own FSDP unit (its weights are gathered just before it runs and freed after), and the
row scorer (embeddings, final norm, LM head) is the root. Gradients are reduce-scattered as a *sum* (divide factor
1): every rank's loss is already divided by the global N (spec §6), so the summed gradient is Σ∇l/N as with the
replicated layout (data_parallel.py), whatever the split of rows. This is the layout for GPUs, where a replica of
the weights and moments on every rank does not fit; it runs on CPU with gloo too, which is how it is tested here.
"""

from typing import Literal

import torch
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import FSDPModule, fully_shard
from torch.distributed.tensor import DTensor

from tmax_learner.model.policy_model import PolicyModel
from tmax_learner.train.data_parallel import is_distributed, world_size

Sharding = Literal["auto", "fsdp2", "replicate"]
SHARDINGS: tuple[Sharding, ...] = ("auto", "fsdp2", "replicate")


def wants_fsdp2(sharding: Sharding, device: torch.device) -> bool:
    """auto: FSDP2 on GPUs, replicas (a summed all-reduce of the gradients) on CPU; nothing on one process."""
    if not is_distributed() or world_size() == 1:
        return False
    if sharding == "auto":
        return device.type == "cuda"
    return sharding == "fsdp2"


def shard_policy(policy: PolicyModel) -> None:
    """Shards in place; make the optimizer afterwards (it must hold the sharded parameters)."""
    mesh = init_device_mesh(policy.device.type, (world_size(),))
    scorer = policy.row_scorer()
    layers = getattr(policy.model.get_decoder(), "layers", None)  # type: ignore[no-untyped-call]
    for layer in layers if isinstance(layers, torch.nn.ModuleList) else []:
        fully_shard(layer, mesh=mesh)
    fully_shard(scorer, mesh=mesh)
    for module in scorer.modules():
        if isinstance(module, FSDPModule):
            module.set_gradient_divide_factor(1.0)
            # Plain SUM collectives (gloo has no PREMUL_SUM; with a factor of 1 there is nothing to pre-scale).
            module.set_force_sum_reduction_for_comms(True)
    policy.sharded = True


def full_tensor(value: torch.Tensor) -> torch.Tensor:
    """A DTensor gathered (a collective: every rank must call it); a plain tensor as it is."""
    return value.full_tensor() if isinstance(value, DTensor) else value

"""Attention that never crosses packed trajectories (spec §7).

On CPU (and on GPUs without flash-attention) the model gets an explicit 4-D additive mask: token q may attend to
token k iff k ≤ q and both belong to the same document (trajectory; padding is document 0 and only sees padding).
With flash-attention the model's own varlen path is used instead: it derives sequence boundaries from position ids
that restart at 0 per trajectory, which is how packed rows are built.
"""

import importlib.util

import torch


def block_causal_mask(document_ids: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """[B, L] document ids → [B, 1, L, L] additive mask: 0 where attention is allowed, the dtype's minimum elsewhere.
    Every query sees at least itself, so no softmax row is empty."""
    if document_ids.dim() != 2:
        raise ValueError(f"document_ids must be [B, L], got {tuple(document_ids.shape)}")
    length = document_ids.shape[1]
    causal = torch.ones(length, length, dtype=torch.bool, device=document_ids.device).tril()
    same_document = document_ids[:, :, None] == document_ids[:, None, :]
    allowed = (same_document & causal)[:, None]
    blocked = torch.full((), torch.finfo(dtype).min, dtype=dtype, device=document_ids.device)
    return torch.where(allowed, torch.zeros((), dtype=dtype, device=document_ids.device), blocked)


def flash_attention_available() -> bool:
    return importlib.util.find_spec("flash_attn") is not None

"""The LM head and log-softmax in token chunks, in fp32 ("FP32 LM head", spec §1/§11): per-token logprobs of given
target ids (and the entropy of each position's distribution) without ever holding the full [T, V] logits.

The forward pass keeps, per chunk, only the target logprob, the log-normaliser and the entropy; the backward
pass recomputes each chunk's logits and turns them into gradients for the hidden states and the head weight. So
at most one chunk's [chunk, V] logits exist at a time, in either direction.
"""

from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class TokenLogprobs:
    logprobs: torch.Tensor
    """[T]: log-softmax(h_t·Wᵀ / temperature)[target_t]."""
    entropy: torch.Tensor
    """[T]: entropy of each position's next-token distribution (differentiable too)."""


def head_dtype(*tensors: torch.Tensor) -> torch.dtype:
    """fp32, or fp64 if an input already is (so the computation can be checked in double precision)."""
    return torch.float64 if any(t.dtype == torch.float64 for t in tensors) else torch.float32


def chunked_token_logprobs(
    hidden: torch.Tensor,
    head_weight: torch.Tensor,
    targets: torch.Tensor,
    chunk_size: int = 4096,
    temperature: float = 1.0,
) -> TokenLogprobs:
    """Per-token logprobs of `targets` [T] under logits = hidden [T, H] · head_weight [V, H]ᵀ / temperature.

    `hidden[t]` scores `targets[t]`: the caller applies the next-token shift (hidden of position p, id of p + 1).
    Hidden states and weight are cast to fp32 here; gradients flow back to them in their own dtype."""
    if hidden.dim() != 2 or head_weight.dim() != 2 or hidden.shape[1] != head_weight.shape[1]:
        raise ValueError(
            f"need hidden [T, H] and head_weight [V, H], got {tuple(hidden.shape)}, {tuple(head_weight.shape)}"
        )
    if targets.shape != hidden.shape[:1]:
        raise ValueError(f"targets has shape {tuple(targets.shape)}, expected ({hidden.shape[0]},)")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    dtype = head_dtype(hidden, head_weight)
    # torch types Function.apply as untyped; forward() below gives the real signature.
    logprobs, entropy = _ChunkedLogSoftmaxGather.apply(  # type: ignore[no-untyped-call]
        hidden.to(dtype), head_weight.to(dtype), targets.to(torch.long), chunk_size, temperature
    )
    return TokenLogprobs(logprobs, entropy)


def _chunk_bounds(total: int, chunk_size: int) -> list[tuple[int, int]]:
    return [(start, min(start + chunk_size, total)) for start in range(0, total, chunk_size)]


class _ChunkedLogSoftmaxGather(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any,
        hidden: torch.Tensor,
        weight: torch.Tensor,
        targets: torch.Tensor,
        chunk_size: int,
        temperature: float,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        tokens = hidden.shape[0]
        logprobs = hidden.new_empty(tokens)
        entropy = hidden.new_empty(tokens)
        normaliser = hidden.new_empty(tokens)
        for start, end in _chunk_bounds(tokens, chunk_size):
            logits = (hidden[start:end] @ weight.T) / temperature
            log_z = torch.logsumexp(logits, dim=-1)
            log_probs = logits - log_z[:, None]
            logprobs[start:end] = log_probs.gather(1, targets[start:end, None]).squeeze(1)
            # -Σ p·log p rather than log Z - Σ p·z: no cancellation between two large numbers in fp32.
            entropy[start:end] = -(torch.exp(log_probs) * log_probs).sum(dim=-1)
            normaliser[start:end] = log_z
        ctx.save_for_backward(hidden, weight, targets, normaliser, entropy)
        ctx.chunk_size = chunk_size
        ctx.temperature = temperature
        ctx.set_materialize_grads(False)
        return logprobs, entropy

    @staticmethod
    def backward(
        ctx: Any, grad_logprobs: torch.Tensor | None, grad_entropy: torch.Tensor | None
    ) -> tuple[torch.Tensor | None, torch.Tensor | None, None, None, None]:
        hidden, weight, targets, normaliser, entropy = ctx.saved_tensors
        temperature: float = ctx.temperature
        grad_hidden = torch.zeros_like(hidden) if ctx.needs_input_grad[0] else None
        grad_weight = torch.zeros_like(weight) if ctx.needs_input_grad[1] else None
        if grad_logprobs is None and grad_entropy is None:
            return grad_hidden, grad_weight, None, None, None
        for start, end in _chunk_bounds(hidden.shape[0], ctx.chunk_size):
            h = hidden[start:end]
            logits = (h @ weight.T) / temperature
            log_probs = logits - normaliser[start:end, None]
            probs = torch.exp(log_probs)
            # d logprob[target] / d logits = onehot(target) - p;  d entropy / d logits = -p·(log p + H).
            grad_logits = torch.zeros_like(logits)
            if grad_logprobs is not None:
                g = grad_logprobs[start:end, None]
                grad_logits -= g * probs
                grad_logits.scatter_add_(1, targets[start:end, None], g)
            if grad_entropy is not None:
                grad_logits -= grad_entropy[start:end, None] * probs * (log_probs + entropy[start:end, None])
            grad_logits /= temperature
            if grad_hidden is not None:
                grad_hidden[start:end] = grad_logits @ weight
            if grad_weight is not None:
                grad_weight += grad_logits.T @ h
        return grad_hidden, grad_weight, None, None, None

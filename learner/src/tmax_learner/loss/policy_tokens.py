"""The per-token quantities every policy-gradient loss shares: the response mask, advantages, behaviour logprobs with
the spec's sentinel, and the importance ratio.

All tensors have one shape (a packed row [T], a batch [B, T], anything): each element is one response position after
the next-token shift. The token mean divides by N, the number of response tokens of the *whole step batch*; the
caller passes it in (all-reduced over data-parallel ranks) so that every rank's gradient sums to Σ_t ∇l_t / N.
"""

from dataclasses import dataclass

import torch

BEHAVIOUR_SENTINEL = 1.0
"""Stands in for the behaviour logprob where there is none (mask 0, or NaN from a synthetic EOS): p_μ becomes 1."""

LOGPROB_FLOOR = -30.0
"""Logprobs are clamped to [LOGPROB_FLOOR, 0] before they are turned into probabilities for the trust region."""


@dataclass(frozen=True)
class PolicyTokens:
    """One batch of response positions, ready for a policy-gradient loss."""

    mask: torch.Tensor
    """bool: the model sampled this token (it counts in N and may carry gradient)."""
    advantages: torch.Tensor
    """A_t, forced to 0 where the mask is 0."""
    behaviour_logprobs: torch.Tensor
    """lμ_t with the sentinel where the mask is 0 or the engine's logprob is NaN."""
    missing_behaviour: torch.Tensor
    """bool: a response token whose behaviour logprob was NaN (it carries the sentinel)."""
    learner_logprobs: torch.Tensor
    """lπ_t on response tokens; the (detached) sentinel elsewhere, so padding can never put NaN into the gradient."""
    ratio: torch.Tensor
    """r_t = exp(lπ_t - lμ_t), unclamped, carrying the gradient of lπ; exactly 1 where the mask is 0."""


def prepare_policy_tokens(
    behaviour_logprobs: torch.Tensor,
    learner_logprobs: torch.Tensor,
    advantages: torch.Tensor,
    response_mask: torch.Tensor,
) -> PolicyTokens:
    """Aligns and sanitises the inputs. A response-mask value counts as 1 when it is non-zero (packed rows store the
    trajectory index + 1 there)."""
    shape = learner_logprobs.shape
    for name, tensor in (
        ("behaviour_logprobs", behaviour_logprobs),
        ("advantages", advantages),
        ("response_mask", response_mask),
    ):
        if tensor.shape != shape:
            raise ValueError(f"{name} has shape {tuple(tensor.shape)}, learner_logprobs {tuple(shape)}")
    if not learner_logprobs.is_floating_point():
        raise ValueError("learner_logprobs must be a floating-point tensor")

    mask = response_mask != 0
    dtype = learner_logprobs.dtype
    behaviour = behaviour_logprobs.detach().to(dtype)
    missing = mask & torch.isnan(behaviour)
    sentinel = torch.full_like(behaviour, BEHAVIOUR_SENTINEL)
    behaviour = torch.where(mask & ~missing, behaviour, sentinel)
    # Selecting (not multiplying) keeps the gradient of masked-out positions exactly 0 even if lπ is inf or NaN there.
    learner = torch.where(mask, learner_logprobs, behaviour)
    ratio = torch.exp(learner - behaviour)
    advantages = torch.where(mask, advantages.detach().to(dtype), torch.zeros_like(behaviour))
    return PolicyTokens(mask, advantages, behaviour, missing, learner, ratio)


def token_mean_divisor(mask: torch.Tensor, num_tokens: float | torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor:
    """N for the token mean, as a 0-dim tensor of `dtype`: `num_tokens` if given (the step batch's response-token
    count over all rows and ranks), else this batch's own count (at least 1, so an empty batch has loss 0)."""
    local = mask.sum()
    if num_tokens is None:
        return local.clamp(min=1).to(dtype)
    divisor = torch.as_tensor(num_tokens, dtype=torch.float64, device=mask.device).detach()
    if divisor.numel() != 1:
        raise ValueError("num_tokens must be a single number")
    divisor = divisor.reshape(())
    if not bool(torch.isfinite(divisor)) or float(divisor) <= 0:
        raise ValueError(f"num_tokens must be a positive number, got {float(divisor)}")
    if float(divisor) < float(local):
        raise ValueError(f"num_tokens ({float(divisor):g}) is smaller than this batch's {int(local)} response tokens")
    return divisor.to(dtype)


def masked_token_sum(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Σ over response tokens, by selection so that values outside the mask cannot leak in (not even NaN)."""
    return torch.where(mask, values, torch.zeros_like(values)).sum()

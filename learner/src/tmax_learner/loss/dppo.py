"""DPPO (spec §6): the importance-weighted policy gradient -A·r with a binary trust-region mask instead of PPO's
ratio clip. No learner-side old-logprob pass: r is always against the rollout's behaviour logprob μ."""

import torch

from tmax_learner.loss.policy_tokens import masked_token_sum, prepare_policy_tokens, token_mean_divisor
from tmax_learner.loss.result import LossResult
from tmax_learner.loss.stats import loss_stats, ppo_clipped
from tmax_learner.loss.trust_region import TrustRegion, trust_region_keep


def dppo_loss(
    behaviour_logprobs: torch.Tensor | None,
    learner_logprobs: torch.Tensor,
    advantages: torch.Tensor,
    response_mask: torch.Tensor,
    region: TrustRegion,
    num_tokens: float | torch.Tensor | None = None,
) -> LossResult:
    """L = Σ_t m_t·(-A_t·r_t·M_t) / N, so ∂L/∂lπ_t = -A_t·r_t·M_t / N.

    `behaviour_logprobs` are the inference engine's logprobs of the sampled tokens (NaN allowed on a response token:
    it gets the sentinel 1.0, so p_μ = 1). Masked tokens (M = 0) stay in N. `num_tokens` is N for the whole step
    batch (default: this batch's response tokens)."""
    if behaviour_logprobs is None:
        raise ValueError("DPPO needs the behaviour logprobs the inference engine recorded when it sampled")
    tokens = prepare_policy_tokens(behaviour_logprobs, learner_logprobs, advantages, response_mask)
    kept = trust_region_keep(tokens, region)
    per_token = -tokens.advantages * tokens.ratio * kept.to(tokens.ratio.dtype)
    divisor = token_mean_divisor(tokens.mask, num_tokens, per_token.dtype)
    loss = masked_token_sum(per_token, tokens.mask) / divisor
    return LossResult(loss, loss_stats(tokens, kept, ppo_clipped(tokens)))

"""The PPO-clip ("GRPO"/DAPO) baseline (spec §6), on the same token mean and the same behaviour logprobs as π_old."""

import torch

from tmax_learner.loss.policy_tokens import masked_token_sum, prepare_policy_tokens, token_mean_divisor
from tmax_learner.loss.result import LossResult
from tmax_learner.loss.stats import PPO_CLIP_HIGH, PPO_CLIP_LOW, loss_stats, ppo_clipped


def ppo_clip_loss(
    behaviour_logprobs: torch.Tensor,
    learner_logprobs: torch.Tensor,
    advantages: torch.Tensor,
    response_mask: torch.Tensor,
    num_tokens: float | torch.Tensor | None = None,
    clip_low: float = PPO_CLIP_LOW,
    clip_high: float = PPO_CLIP_HIGH,
) -> LossResult:
    """L = Σ_t m_t·max(-A_t·r_t, -A_t·clamp(r_t, 1 - clip_low, 1 + clip_high)) / N. The gradient is 0 where the
    clipped term wins (A > 0 with r > 1 + clip_high, A < 0 with r < 1 - clip_low)."""
    if not 0 <= clip_low < 1 or not clip_high >= 0:
        raise ValueError(f"PPO clip range needs 0 ≤ clip_low < 1 and clip_high ≥ 0, got {clip_low}, {clip_high}")
    tokens = prepare_policy_tokens(behaviour_logprobs, learner_logprobs, advantages, response_mask)
    ratio, advantages = tokens.ratio, tokens.advantages
    unclipped = -advantages * ratio
    clipped_term = -advantages * ratio.clamp(1 - clip_low, 1 + clip_high)
    clipped = ppo_clipped(tokens, clip_low, clip_high)
    # Where the clipped term wins take it (its gradient is 0: the clamp is flat there); elsewhere the unclipped one.
    per_token = torch.where(clipped, clipped_term, unclipped)
    divisor = token_mean_divisor(tokens.mask, num_tokens, per_token.dtype)
    loss = masked_token_sum(per_token, tokens.mask) / divisor
    return LossResult(loss, loss_stats(tokens, ~clipped & tokens.mask, clipped))

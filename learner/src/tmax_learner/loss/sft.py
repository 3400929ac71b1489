"""Supervised fine-tuning: the token-mean negative log-likelihood of the response tokens."""

import torch

from tmax_learner.loss.policy_tokens import masked_token_sum, token_mean_divisor


def sft_loss(
    learner_logprobs: torch.Tensor,
    response_mask: torch.Tensor,
    num_tokens: float | torch.Tensor | None = None,
) -> torch.Tensor:
    """L = -Σ_t m_t·lπ_t / N, N = the step batch's response tokens (default: this batch's)."""
    if response_mask.shape != learner_logprobs.shape:
        raise ValueError(
            f"response_mask has shape {tuple(response_mask.shape)}, learner_logprobs {tuple(learner_logprobs.shape)}"
        )
    mask = response_mask != 0
    divisor = token_mean_divisor(mask, num_tokens, learner_logprobs.dtype)
    return -masked_token_sum(learner_logprobs, mask) / divisor

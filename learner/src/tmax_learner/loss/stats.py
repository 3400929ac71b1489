"""What a policy-gradient step logs about its tokens (spec §11): how much of the batch the loss kept, and how far the
learner's logprobs are from the inference engine's."""

from dataclasses import dataclass

import torch

from tmax_learner.loss.policy_tokens import PolicyTokens

PPO_CLIP_LOW = 0.2
PPO_CLIP_HIGH = 0.272
"""The PPO-clip baseline's ratio range [1 - 0.2, 1 + 0.272]."""


@dataclass(frozen=True)
class LossStats:
    """Means over this batch's response tokens (NaN when there are none). The logprob-difference and KL figures
    leave out tokens without a behaviour logprob (NaN from the engine), whose sentinel is no measurement."""

    response_tokens: int
    """Response tokens in this batch (mask 1)."""
    missing_behaviour_logprobs: int
    """Response tokens whose behaviour logprob was NaN (synthetic EOS of an empty or failed rollout)."""
    kept_fraction: float
    """Fraction of response tokens whose loss term carries gradient (DPPO: M_t = 1; PPO-clip: not clipped)."""
    clip_fraction: float
    """Fraction where PPO-clip's clipped term exceeds the unclipped one (computed for every loss, for comparison)."""
    logprob_diff_mean: float
    """mean |lμ - lπ|."""
    logprob_diff_max: float
    """max |lμ - lπ|."""
    logprob_diff_std: float
    """Population standard deviation of |lμ - lπ|."""
    reverse_kl: float
    """mean(p_μ · (lμ - lπ)), the estimate the recipe logs."""
    ratio_mean: float
    """mean r_t."""


def ppo_clipped(tokens: PolicyTokens, clip_low: float = PPO_CLIP_LOW, clip_high: float = PPO_CLIP_HIGH) -> torch.Tensor:
    """bool: PPO-clip's clipped term -A·clamp(r) is larger than -A·r, so the token gets no gradient
    (A > 0 with r > 1 + clip_high, or A < 0 with r < 1 - clip_low)."""
    ratio = tokens.ratio.detach()
    advantages = tokens.advantages
    clipped = ((advantages > 0) & (ratio > 1 + clip_high)) | ((advantages < 0) & (ratio < 1 - clip_low))
    return tokens.mask & clipped


def _mean(values: torch.Tensor) -> float:
    return float(values.to(torch.float64).mean()) if values.numel() > 0 else float("nan")


def loss_stats(tokens: PolicyTokens, kept: torch.Tensor, clipped: torch.Tensor) -> LossStats:
    """Statistics of one batch, given which response tokens the loss kept and which PPO-clip would clip."""
    mask = tokens.mask
    measured = mask & ~tokens.missing_behaviour
    behaviour = tokens.behaviour_logprobs.detach()[measured].to(torch.float64)
    learner = tokens.learner_logprobs.detach()[measured].to(torch.float64)
    diff = (behaviour - learner).abs()
    p_mu = torch.exp(behaviour.clamp(max=0.0))
    return LossStats(
        response_tokens=int(mask.sum()),
        missing_behaviour_logprobs=int(tokens.missing_behaviour.sum()),
        kept_fraction=_mean(kept[mask].to(torch.float64)),
        clip_fraction=_mean(clipped[mask].to(torch.float64)),
        logprob_diff_mean=_mean(diff),
        logprob_diff_max=float(diff.max()) if diff.numel() > 0 else float("nan"),
        logprob_diff_std=float(diff.std(correction=0)) if diff.numel() > 0 else float("nan"),
        reverse_kl=_mean(p_mu * (behaviour - learner)),
        ratio_mean=_mean(tokens.ratio.detach()[mask]),
    )

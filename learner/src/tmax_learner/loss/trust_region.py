"""DPPO's trust region: which response tokens lose their gradient because the policy moved the sampled token's
probability too far *away* from the behaviour policy (spec §6). Moves back towards μ are always kept."""

from dataclasses import dataclass
from typing import Literal

import torch

from tmax_learner.loss.policy_tokens import LOGPROB_FLOOR, PolicyTokens

Divergence = Literal["tv", "binary-kl"]
"""tv: |p_μ - p_π| (binary total variation, the recipe's choice); binary-kl: KL(Bern(p_μ) ‖ Bern(p_π))."""

BINARY_KL_EPSILON = 1e-9
"""Probabilities are clipped to [ε, 1 - ε] before the binary KL."""


@dataclass(frozen=True)
class TrustRegion:
    """δ and the divergence it bounds. Validated when built, so a bad configuration fails at start-up."""

    delta: float = 0.1
    divergence: Divergence = "tv"

    def __post_init__(self) -> None:
        validate_delta(self.delta)
        if self.divergence not in ("tv", "binary-kl"):
            raise ValueError(f"unknown trust-region divergence {self.divergence!r} (tv or binary-kl)")


def validate_delta(delta: float) -> None:
    """DPPO needs δ > 0 (finite): with δ ≤ 0 every moving token would be masked."""
    if not isinstance(delta, int | float) or isinstance(delta, bool) or not delta > 0 or delta == float("inf"):
        raise ValueError(f"DPPO needs a trust-region delta > 0, got {delta!r}")


def sampled_token_probability(logprobs: torch.Tensor) -> torch.Tensor:
    """exp(clamp(logprob, floor, 0)) in float64 (no gradient): the probability of the sampled token."""
    return torch.exp(logprobs.detach().to(torch.float64).clamp(LOGPROB_FLOOR, 0.0))


def binary_divergence(tokens: PolicyTokens, divergence: Divergence) -> torch.Tensor:
    """D_t between the behaviour and learner probabilities of the sampled token; 0 outside the response mask."""
    p_mu = sampled_token_probability(tokens.behaviour_logprobs)
    p_pi = sampled_token_probability(tokens.learner_logprobs)
    if divergence == "tv":
        distance = (p_mu - p_pi).abs()
    else:
        eps = BINARY_KL_EPSILON
        p_mu = p_mu.clamp(eps, 1 - eps)
        p_pi = p_pi.clamp(eps, 1 - eps)
        distance = p_mu * torch.log(p_mu / p_pi) + (1 - p_mu) * torch.log((1 - p_mu) / (1 - p_pi))
    return torch.where(tokens.mask, distance, torch.zeros_like(distance))


def trust_region_keep(tokens: PolicyTokens, region: TrustRegion) -> torch.Tensor:
    """M_t (bool): a response token is dropped only when it is outside the region (D > δ, strictly) *and* its ratio
    moves in the direction its advantage pushes (A > 0 with r > 1, or A < 0 with r < 1)."""
    outside = binary_divergence(tokens, region.divergence) > region.delta
    ratio = tokens.ratio.detach()
    advantages = tokens.advantages
    moving_away = ((advantages > 0) & (ratio > 1)) | ((advantages < 0) & (ratio < 1))
    return tokens.mask & ~(outside & moving_away)

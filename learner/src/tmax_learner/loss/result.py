"""What a policy-gradient loss returns."""

from dataclasses import dataclass

import torch

from tmax_learner.loss.stats import LossStats


@dataclass(frozen=True)
class LossResult:
    loss: torch.Tensor
    """0-dim, carrying the gradient of the learner logprobs."""
    stats: LossStats

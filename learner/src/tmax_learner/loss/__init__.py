"""Losses of the learner: DPPO with a binary trust region (and its binary-KL variant), the PPO-clip baseline and SFT,
all token means over the step batch; and the chunked fp32 LM head that produces the learner logprobs."""

from tmax_learner.loss.chunked_lm_head import TokenLogprobs, chunked_token_logprobs
from tmax_learner.loss.dppo import dppo_loss
from tmax_learner.loss.ppo_clip import ppo_clip_loss
from tmax_learner.loss.result import LossResult
from tmax_learner.loss.sft import sft_loss
from tmax_learner.loss.stats import LossStats
from tmax_learner.loss.trust_region import Divergence, TrustRegion

__all__ = [
    "Divergence",
    "LossResult",
    "LossStats",
    "TokenLogprobs",
    "TrustRegion",
    "chunked_token_logprobs",
    "dppo_loss",
    "ppo_clip_loss",
    "sft_loss",
]

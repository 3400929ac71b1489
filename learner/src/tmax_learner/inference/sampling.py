"""The sampling distribution of one decoding step, as vLLM's sampler builds it, and a draw from it.

Order (vLLM's v1 sampler): the EOS/stop ids masked while fewer than `min_tokens` were sampled, then the logits in
fp32 divided by the temperature (a temperature below 1e-5 is greedy and divides by 1), then top-k and top-p
filtering. The logprobs reported are the log-softmax of that processed distribution — vLLM's
`--logprobs-mode processed_logprobs`, the behaviour logprobs μ the RL loss needs. Greedy takes the argmax; random
sampling inverts the cumulative distribution at one uniform draw of the request's generator, which draws a token with
probability p (vLLM races p / q with q ~ Exp(1), the same distribution; one uniform is faster on a CPU).
"""

from dataclasses import dataclass

import torch

GREEDY_EPSILON = 1e-5
"""Temperatures below this are greedy (vLLM's _SAMPLING_EPS)."""


@dataclass(frozen=True)
class StepSampling:
    temperature: float
    top_p: float = 1.0
    top_k: int = 0
    """0 (or -1 in requests): no top-k."""

    @property
    def greedy(self) -> bool:
        return self.temperature < GREEDY_EPSILON


def processed_logprobs(logits: torch.Tensor, sampling: StepSampling) -> torch.Tensor:
    """Log-probabilities [..., V] of the distribution actually sampled from: temperature, then top-k, then top-p
    (tokens filtered out get -inf). `logits` is not modified."""
    scaled = logits.to(torch.float32)
    scaled = scaled / (1.0 if sampling.greedy else sampling.temperature)
    vocab = scaled.shape[-1]
    if 0 < sampling.top_k < vocab:
        kth = torch.topk(scaled, sampling.top_k, dim=-1).values[..., -1:]
        scaled = scaled.masked_fill(scaled < kth, float("-inf"))
    if sampling.top_p < 1.0:
        # The nucleus as vLLM cuts it: in ascending order of probability, drop tokens while the cumulative mass up
        # to and including them is at most 1 - top_p; the most likely token always stays.
        ascending, order = torch.sort(scaled, dim=-1, descending=False)
        cumulative = torch.softmax(ascending, dim=-1).cumsum(dim=-1)
        drop = cumulative <= 1.0 - sampling.top_p
        drop[..., -1] = False
        ascending = ascending.masked_fill(drop, float("-inf"))
        scaled = torch.empty_like(scaled).scatter_(-1, order, ascending)
    return torch.log_softmax(scaled, dim=-1)


def draw(logprobs: torch.Tensor, sampling: StepSampling, generator: torch.Generator) -> int:
    """One token id from a [V] processed-logprob vector: the argmax when greedy, else a draw with `generator`."""
    if sampling.greedy:
        return int(torch.argmax(logprobs).item())
    cumulative = torch.cumsum(logprobs.to(torch.float64).exp(), dim=-1)
    point = torch.rand((1,), generator=generator, dtype=torch.float64) * cumulative[-1]
    # The first token whose cumulative mass exceeds the point: its own probability is > 0, so a token filtered out
    # by top-k / top-p (probability 0) is never drawn.
    index = int(torch.searchsorted(cumulative, point, right=True).item())
    return min(index, logprobs.shape[-1] - 1)


def mask_ids(logits: torch.Tensor, ids: frozenset[int]) -> torch.Tensor:
    """`logits` with the given ids set to -inf (min_tokens keeps EOS and stop ids from being sampled)."""
    if not ids:
        return logits
    masked = logits.clone()
    masked[..., sorted(ids)] = float("-inf")
    return masked

"""The spec's golden vectors (rl.md §6.1), as the tests feed them to the loss: probabilities turned into logprobs."""

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class GoldenToken:
    name: str
    mu: float
    """Behaviour probability (NaN: no behaviour logprob)."""
    pi: float
    advantage: float
    response: bool
    ratio: float = 1.0
    tv: float = 0.0
    kept: bool = False
    dppo_term: float = 0.0
    """l_t before dividing by N."""
    ppo_term: float = 0.0
    binary_kl: float = 0.0


def _model(
    name: str, mu: float, pi: float, a: float, r: float, tv: float, kept: bool, dppo: float, ppo: float, kl: float
) -> GoldenToken:
    return GoldenToken(name, mu, pi, a, True, r, tv, kept, dppo, ppo, kl)


def _context(name: str, pi: float) -> GoldenToken:
    """A prompt (P) or tool (T) token: stored behaviour logprob 0.0 (p = 1), mask 0."""
    return GoldenToken(name, 1.0, pi, 0.0, False)


# [P, a0, a1, a2, T, T, a3, P, b0, b1, b2]; trajectory a has A = +0.5, b has A = -0.5.
GOLDEN_ROW = [
    _context("P", 0.3),
    _model("a0", 0.50, 0.55, +0.5, 1.1, 0.05, True, -0.55, -0.55, 0.005025),
    _model("a1", 0.60, 0.75, +0.5, 1.25, 0.15, False, 0.0, -0.625, 0.054115),
    _model("a2", 0.02, 0.05, +0.5, 2.5, 0.03, True, -1.25, -0.636, 0.012143),
    _context("T", 0.05),
    _context("T", 0.9),
    _model("a3", 0.90, 0.70, +0.5, 0.7 / 0.9, 0.2, True, -0.5 * 0.7 / 0.9, -0.5 * 0.7 / 0.9, 0.116322),
    _context("P", 0.6),
    _model("b0", 0.30, 0.15, -0.5, 0.5, 0.15, False, 0.0, 0.4, 0.072035),
    _model("b1", 0.40, 0.55, -0.5, 1.375, 0.15, True, 0.6875, 0.6875, 0.045228),
    _model("b2", 0.05, 0.045, -0.5, 0.9, 0.005, True, 0.45, 0.45, 0.000281),
]
GOLDEN_N = 7
GOLDEN_DPPO_LOSS = -0.1501984127
GOLDEN_PPO_LOSS = -0.0946269841
GOLDEN_KEPT_FRACTION = 5 / 7
GOLDEN_CLIP_FRACTION = 2 / 7


@dataclass(frozen=True)
class SingleToken:
    mu: float
    pi: float
    advantage: float
    kept: bool
    term: float


# The single-token table: l_t with N = 1 (r = pi / mu, D = |mu - pi|).
SINGLE_TOKENS = [
    SingleToken(0.5, 0.65, +1, False, 0.0),
    SingleToken(0.5, 0.65, -1, True, 1.3),
    SingleToken(0.001, 0.01, +1, True, -10.0),
    SingleToken(0.9, 0.75, -1, False, 0.0),
    SingleToken(0.9, 0.75, +1, True, -0.75 / 0.9),
    SingleToken(0.5, 0.58, +1, True, -1.16),
]


def log_or_nan(p: float) -> float:
    return math.log(p) if not math.isnan(p) else math.nan


def case_of(tokens: list[GoldenToken], **extra: Any) -> dict[str, Any]:
    """A loss-check case for a row of tokens (a NaN behaviour probability becomes null)."""
    return {
        "vllm_logprobs": [None if math.isnan(t.mu) else math.log(t.mu) for t in tokens],
        "learner_logprobs": [math.log(t.pi) for t in tokens],
        "advantages": [t.advantage for t in tokens],
        "response_mask": [int(t.response) for t in tokens],
        **extra,
    }


def single_token_case(mu: float, pi: float, advantage: float, **extra: Any) -> dict[str, Any]:
    return case_of([GoldenToken("x", mu, pi, advantage, True)], **extra)


def write_cases(directory: Path, cases: list[dict[str, Any]], **top: Any) -> Path:
    path = directory / "cases.json"
    path.write_text(json.dumps({**top, "cases": cases}))
    return path

"""One training step: packed rows → learner logprobs → loss (dppo | ppo-clip | sft) → one AdamW step.

Rows are micro-batches of one: each row's loss (already divided by the global N) is backpropagated at once, so the
gradients accumulate to Σ_t ∇l_t / N over the step batch. A step whose loss or gradient norm is not finite is
skipped — the gradients are dropped, weights and optimizer state stay as they were — and reported as such.
"""

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch

from tmax_learner.loss import LossResult, TrustRegion, dppo_loss, ppo_clip_loss, sft_loss
from tmax_learner.loss.policy_tokens import prepare_policy_tokens
from tmax_learner.loss.stats import LossStats, loss_stats, ppo_clipped
from tmax_learner.loss.trust_region import trust_region_keep
from tmax_learner.model.policy_model import PolicyModel
from tmax_learner.train.data_parallel import gather_over_ranks, max_over_ranks, sum_gradients_over_ranks, sum_over_ranks
from tmax_learner.train.loss_kind import LOSS_KINDS, LossKind
from tmax_learner.train.packed_batch import PackedRow, step_tokens
from tmax_learner.train.sharding import full_tensor


@dataclass(frozen=True)
class TrainConfig:
    loss: LossKind = "dppo"
    delta: float = 0.1
    learning_rate: float = 1e-6
    weight_decay: float = 0.0
    max_grad_norm: float | None = None
    """None: no clipping (the released runs); the norm is still measured and reported."""
    temperature: float = 1.0

    def __post_init__(self) -> None:
        if self.loss not in LOSS_KINDS:
            raise ValueError(f"loss must be one of {', '.join(LOSS_KINDS)}, got {self.loss!r}")
        if self.loss.startswith("dppo") and not self.delta > 0:
            raise ValueError(f"DPPO needs a trust-region delta > 0, got {self.delta}")
        if not self.learning_rate > 0 or self.weight_decay < 0:
            raise ValueError("learning_rate must be > 0 and weight_decay ≥ 0")
        if self.max_grad_norm is not None and not self.max_grad_norm > 0:
            raise ValueError(f"max_grad_norm must be > 0 (or None), got {self.max_grad_norm}")


@dataclass(frozen=True)
class StepReport:
    applied: bool
    """False: the loss or gradient norm was not finite and nothing was changed."""
    skip_reason: str | None
    loss: float
    """The step's loss, summed over ranks (so: the global token mean)."""
    grad_norm: float
    """L2 norm of the full (summed over ranks) gradient, before clipping."""
    tokens: int
    """N: response tokens of the step batch over all ranks."""
    row_tokens: int
    """All tokens of every rank's rows (the forward passes' work)."""
    seconds: float
    tokens_per_second: float
    """Row tokens of all ranks per second of this rank's step."""
    entropy_mean: float
    """Mean entropy of the learner's next-token distribution over every rank's response tokens."""
    stats: LossStats
    """Token statistics over every rank's response tokens (kept/clip fraction, |μ-π|, reverse KL, ratio)."""

    def to_json(self) -> dict[str, Any]:
        report = asdict(self)
        stats = report.pop("stats")
        return {key: _json_number(value) for key, value in {**report, **stats}.items()}


def _json_number(value: object) -> object:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def make_optimizer(policy: PolicyModel, config: TrainConfig) -> torch.optim.AdamW:
    """AdamW with torch's default betas and eps (spec §1)."""
    parameters = [p for p in policy.model.parameters() if p.requires_grad]
    return torch.optim.AdamW(parameters, lr=config.learning_rate, weight_decay=config.weight_decay)


def _row_loss(
    config: TrainConfig,
    row: PackedRow,
    learner: torch.Tensor,
    num_tokens: float,
) -> torch.Tensor:
    device = learner.device
    mask = row.response_mask[1:].to(device)
    if config.loss == "sft":
        return sft_loss(learner, mask, num_tokens)
    behaviour = row.behaviour_logprobs[1:].to(device)
    advantages = row.advantages[1:].to(device)
    result: LossResult
    if config.loss == "ppo-clip":
        result = ppo_clip_loss(behaviour, learner, advantages, mask, num_tokens)
    else:
        region = TrustRegion(config.delta, "tv" if config.loss == "dppo" else "binary-kl")
        result = dppo_loss(behaviour, learner, advantages, mask, region, num_tokens)
    return result.loss


def _step_stats(config: TrainConfig, rows: list[PackedRow], learner: list[torch.Tensor]) -> LossStats:
    """The statistics over every rank's rows at once (from detached logprobs): the same on any data-parallel layout."""
    behaviour = gather_over_ranks(torch.cat([row.behaviour_logprobs[1:] for row in rows]).float())
    advantages = gather_over_ranks(torch.cat([row.advantages[1:] for row in rows]).float())
    # Mask values are trajectory indices per rank; only "is a sampled token" matters here.
    mask = gather_over_ranks((torch.cat([row.response_mask[1:] for row in rows]) != 0).to(torch.int32))
    tokens = prepare_policy_tokens(behaviour, gather_over_ranks(torch.cat(learner).cpu().float()), advantages, mask)
    clipped = ppo_clipped(tokens)
    if config.loss in ("dppo", "dppo-kl"):
        kept = trust_region_keep(tokens, TrustRegion(config.delta, "tv" if config.loss == "dppo" else "binary-kl"))
    elif config.loss == "ppo-clip":
        kept = tokens.mask & ~clipped
    else:
        kept = tokens.mask
    return loss_stats(tokens, kept, clipped)


def _idle_pass(policy: PolicyModel) -> None:
    """A forward and backward pass on a 2-token row whose loss is 0 (its gradient adds exactly nothing)."""
    tokens = torch.zeros(2, dtype=torch.int32)
    scored = policy.row_logprobs(tokens, torch.arange(2, dtype=torch.int32), torch.ones(2, dtype=torch.int32))
    (scored.logprobs.sum() * 0.0).backward()  # type: ignore[no-untyped-call]


def train_step(
    policy: PolicyModel,
    optimizer: torch.optim.Optimizer,
    rows: list[PackedRow],
    config: TrainConfig,
    on_gradients: Callable[[list[torch.nn.Parameter]], None] | None = None,
) -> StepReport:
    """One optimizer step on this rank's `rows`; under torch.distributed every rank calls it with its share.
    `on_gradients` sees the parameters with the step's full gradient (summed over ranks, before clipping; under
    FSDP2 each rank's parameters and gradients are its DTensor shards)."""
    started = time.perf_counter()
    parameters = [p for group in optimizer.param_groups for p in group["params"]]
    optimizer.zero_grad(set_to_none=True)
    device = policy.device
    tokens = int(sum_over_ranks(torch.tensor(float(step_tokens(rows)), dtype=torch.float64)).item())
    divisor = float(max(tokens, 1))
    # FSDP2's collectives run inside every forward and backward: all ranks must make as many passes, so a rank with
    # fewer rows makes idle ones that add nothing to the gradient. (Agreed on before any pass: a collective here
    # while another rank is mid-pass would deadlock.)
    passes = max_over_ranks(len(rows)) if policy.sharded else len(rows)

    loss_total = torch.zeros((), dtype=torch.float64)
    learner_logprobs: list[torch.Tensor] = []
    entropy_sum = 0.0
    for row in rows:
        # Every loss and statistic reads the learner's logprobs at response positions only: only those are scored.
        response = row.response_mask[1:].to(device) != 0
        scored = policy.row_logprobs(row.token_ids, row.position_ids, row.document_ids, config.temperature, response)
        loss = _row_loss(config, row, scored.logprobs, divisor)
        loss.backward()  # type: ignore[no-untyped-call]
        loss_total += loss.detach().double().cpu()
        learner_logprobs.append(scored.logprobs.detach())
        entropy_sum += float(scored.entropy.detach()[response].double().sum())
    for _ in range(passes - len(rows)):
        _idle_pass(policy)

    sum_over_ranks(loss_total)
    if not policy.sharded:  # FSDP2 has reduce-scattered (summed) the gradients already
        sum_gradients_over_ranks(parameters)
    grads = [p.grad for p in parameters if p.grad is not None]
    grad_norm = float(full_tensor(torch.nn.utils.get_total_norm(grads))) if grads else 0.0
    loss_value = float(loss_total)
    if on_gradients is not None:
        on_gradients(parameters)

    skip_reason = None
    if not math.isfinite(loss_value):
        skip_reason = f"loss is {loss_value}"
    elif not math.isfinite(grad_norm):
        skip_reason = f"gradient norm is {grad_norm}"
    if skip_reason is None:
        if config.max_grad_norm is not None:
            # Takes the parameters (it scales their .grad), not the gradient tensors.
            torch.nn.utils.clip_grads_with_norm_(parameters, config.max_grad_norm, torch.tensor(grad_norm))
        optimizer.step()
    optimizer.zero_grad(set_to_none=True)

    stats = _step_stats(config, rows, learner_logprobs)
    seconds = time.perf_counter() - started
    totals = torch.tensor(
        [float(sum(len(row) for row in rows)), entropy_sum, float(sum(row.scored_response_tokens() for row in rows))],
        dtype=torch.float64,
    )
    sum_over_ranks(totals)
    row_tokens, entropy_total, response_tokens = int(totals[0]), float(totals[1]), float(totals[2])
    return StepReport(
        applied=skip_reason is None,
        skip_reason=skip_reason,
        loss=loss_value,
        grad_norm=grad_norm,
        tokens=tokens,
        row_tokens=row_tokens,
        seconds=seconds,
        tokens_per_second=row_tokens / seconds if seconds > 0 else float("nan"),
        entropy_mean=entropy_total / response_tokens if response_tokens else float("nan"),
        stats=stats,
    )

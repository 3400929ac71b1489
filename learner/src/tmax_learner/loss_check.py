"""`loss-check`: runs the real loss code (forward and autograd) on small hand-written cases, so its numbers can be
compared with the spec's golden vectors from outside Python (`tmax train loss-check`).

Input: {"loss"?: LOSS, "cases": [{"vllm_logprobs", "learner_logprobs", "advantages", "response_mask", "delta"?,
"loss"?}]}; LOSS is "dppo" (binary total variation, the default), "dppo-kl" (binary KL) or "ppo-clip"; delta
defaults to 0.1; a behaviour logprob may be null (= NaN, no logprob from the engine). Each case is one step batch:
N = its number of mask-1 tokens. Computed in float32, as the learner does.
"""

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, cast, get_args

import torch

from tmax_learner.loss import LossResult, TrustRegion, dppo_loss, ppo_clip_loss

LossName = Literal["dppo", "dppo-kl", "ppo-clip"]
LOSS_NAMES: tuple[str, ...] = get_args(LossName)
DEFAULT_DELTA = 0.1
CASE_KEYS = {"vllm_logprobs", "learner_logprobs", "advantages", "response_mask", "delta", "loss"}


class LossCheckInputError(ValueError):
    """The input file is not a valid loss-check document; the message says where."""


@dataclass(frozen=True)
class LossCase:
    loss: LossName
    delta: float
    vllm_logprobs: list[float]
    learner_logprobs: list[float]
    advantages: list[float]
    response_mask: list[int]


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _numbers(where: str, value: object, *, allow_null: bool) -> list[float]:
    if not isinstance(value, list):
        raise LossCheckInputError(f"{where}: expected a list of numbers")
    numbers: list[float] = []
    for i, item in enumerate(value):
        if item is None and allow_null:
            numbers.append(math.nan)
        elif _is_number(item) and (math.isfinite(item) or (allow_null and math.isnan(item))):
            numbers.append(float(item))
        else:
            allowed = "a finite number or null" if allow_null else "a finite number"
            raise LossCheckInputError(f"{where}[{i}]: expected {allowed}, got {json.dumps(item)}")
    return numbers


def _mask(where: str, value: object) -> list[int]:
    if not isinstance(value, list):
        raise LossCheckInputError(f"{where}: expected a list of 0/1")
    for i, item in enumerate(value):
        if isinstance(item, bool) or item not in (0, 1):
            raise LossCheckInputError(f"{where}[{i}]: expected 0 or 1, got {json.dumps(item)}")
    return [int(item) for item in value]


def _loss_name(where: str, value: object) -> LossName:
    if value not in LOSS_NAMES:
        raise LossCheckInputError(f"{where}: expected one of {', '.join(LOSS_NAMES)}, got {json.dumps(value)}")
    return cast(LossName, value)


def parse_cases(document: object) -> list[LossCase]:
    """Validates a loss-check document; every problem is reported with its JSON path."""
    if not isinstance(document, dict):
        raise LossCheckInputError('expected a JSON object with "cases"')
    unknown = set(document) - {"cases", "loss"}
    if unknown:
        raise LossCheckInputError(f"unknown key(s) {', '.join(sorted(map(json.dumps, unknown)))} (cases, loss)")
    default_loss = _loss_name("loss", document.get("loss", "dppo"))
    raw_cases = document.get("cases")
    if not isinstance(raw_cases, list) or not raw_cases:
        raise LossCheckInputError('"cases": expected a non-empty list')
    cases: list[LossCase] = []
    for index, raw in enumerate(raw_cases):
        where = f"cases[{index}]"
        if not isinstance(raw, dict):
            raise LossCheckInputError(f"{where}: expected an object")
        unknown = set(raw) - CASE_KEYS
        if unknown:
            names = ", ".join(sorted(map(json.dumps, unknown)))
            raise LossCheckInputError(f"{where}: unknown key(s) {names} ({', '.join(sorted(CASE_KEYS))})")
        for key in sorted(CASE_KEYS - {"delta", "loss"}):
            if key not in raw:
                raise LossCheckInputError(f"{where}: missing {json.dumps(key)}")
        delta = raw.get("delta", DEFAULT_DELTA)
        if not _is_number(delta) or not math.isfinite(delta) or delta <= 0:
            raise LossCheckInputError(f"{where}.delta: DPPO needs a trust-region delta > 0, got {json.dumps(delta)}")
        case = LossCase(
            loss=_loss_name(f"{where}.loss", raw.get("loss", default_loss)),
            delta=float(delta),
            vllm_logprobs=_numbers(f"{where}.vllm_logprobs", raw["vllm_logprobs"], allow_null=True),
            learner_logprobs=_numbers(f"{where}.learner_logprobs", raw["learner_logprobs"], allow_null=False),
            advantages=_numbers(f"{where}.advantages", raw["advantages"], allow_null=False),
            response_mask=_mask(f"{where}.response_mask", raw["response_mask"]),
        )
        lengths = {
            "vllm_logprobs": len(case.vllm_logprobs),
            "learner_logprobs": len(case.learner_logprobs),
            "advantages": len(case.advantages),
            "response_mask": len(case.response_mask),
        }
        if len(set(lengths.values())) != 1:
            raise LossCheckInputError(
                f"{where}: lists differ in length ({', '.join(f'{k} {n}' for k, n in lengths.items())})"
            )
        cases.append(case)
    return cases


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def run_case(case: LossCase) -> dict[str, Any]:
    """The loss, its statistics and ∂L/∂lπ per token for one case (+ 0.0 turns a negative zero into 0)."""
    learner = torch.tensor(case.learner_logprobs, dtype=torch.float32, requires_grad=True)
    behaviour = torch.tensor(case.vllm_logprobs, dtype=torch.float32)
    advantages = torch.tensor(case.advantages, dtype=torch.float32)
    mask = torch.tensor(case.response_mask, dtype=torch.int64)
    result: LossResult
    if case.loss == "ppo-clip":
        result = ppo_clip_loss(behaviour, learner, advantages, mask)
    else:
        region = TrustRegion(case.delta, "tv" if case.loss == "dppo" else "binary-kl")
        result = dppo_loss(behaviour, learner, advantages, mask, region)
    (gradient,) = torch.autograd.grad(result.loss, learner)
    stats = {key: _finite_or_none(v) if isinstance(v, float) else v for key, v in asdict(result.stats).items()}
    return {
        "loss_name": case.loss,
        "delta": case.delta if case.loss != "ppo-clip" else None,
        "num_tokens": sum(case.response_mask),
        "loss": float(result.loss.detach()) + 0.0,
        **stats,
        "grad_wrt_learner_logprobs": [float(g) + 0.0 for g in gradient],
    }


def loss_check(path: Path) -> dict[str, Any]:
    """Reads a loss-check file and runs every case. Raises LossCheckInputError (or OSError) for a bad file."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise LossCheckInputError(f"not valid JSON: {err}") from err
    except UnicodeDecodeError as err:
        raise LossCheckInputError(f"not UTF-8 text: {err}") from err
    return {"cases": [run_case(case) for case in parse_cases(document)]}

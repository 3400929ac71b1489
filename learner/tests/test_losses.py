"""The loss functions themselves: the trust-region divergences of the golden row, normalisation over ranks,
robustness to padding, statistics, PPO-clip's zero-gradient regions, SFT."""

import math

import pytest
import torch
from golden_vectors import GOLDEN_DPPO_LOSS, GOLDEN_N, GOLDEN_ROW, GoldenToken

from tmax_learner.loss import TrustRegion, dppo_loss, ppo_clip_loss, sft_loss
from tmax_learner.loss.policy_tokens import prepare_policy_tokens
from tmax_learner.loss.trust_region import binary_divergence

Row = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


def scalar(value: torch.Tensor) -> float:
    return float(value.detach())


def row_tensors(tokens: list[GoldenToken], dtype: torch.dtype = torch.float32) -> Row:
    """Behaviour logprobs, learner logprobs (a leaf with grad), advantages and mask of a row."""
    behaviour = torch.tensor([math.log(t.mu) for t in tokens], dtype=dtype)
    learner = torch.tensor([math.log(t.pi) for t in tokens], dtype=dtype, requires_grad=True)
    advantages = torch.tensor([t.advantage for t in tokens], dtype=dtype)
    mask = torch.tensor([int(t.response) for t in tokens])
    return behaviour, learner, advantages, mask


def test_divergences_of_the_golden_row() -> None:
    behaviour, learner, advantages, mask = row_tensors(GOLDEN_ROW, torch.float64)
    tokens = prepare_policy_tokens(behaviour, learner, advantages, mask)
    tv = binary_divergence(tokens, "tv")
    kl = binary_divergence(tokens, "binary-kl")
    for i, token in enumerate(GOLDEN_ROW):
        assert float(tv[i]) == pytest.approx(token.tv, abs=1e-9), token.name
        # The table prints D_kl to six decimals.
        assert float(kl[i]) == pytest.approx(token.binary_kl, abs=5e-7), token.name
        assert float(tokens.ratio.detach()[i]) == pytest.approx(token.ratio, rel=1e-9), token.name


def test_binary_kl_masks_with_its_own_divergence() -> None:
    # delta = 0.05: a1 (D_kl 0.054, A > 0, r > 1) and b0 (0.072, A < 0, r < 1) move away and are masked; a3 (0.116)
    # moves back and is kept; under TV with the same delta a0 (D_tv 0.05, not > 0.05) and b2 stay too.
    result = dppo_loss(*row_tensors(GOLDEN_ROW), region=TrustRegion(0.05, "binary-kl"))
    kept = {"a0", "a2", "a3", "b1", "b2"}
    expected = sum(-t.advantage * t.ratio for t in GOLDEN_ROW if t.name in kept) / GOLDEN_N
    assert scalar(result.loss) == pytest.approx(expected, rel=1e-6)
    assert result.stats.kept_fraction == pytest.approx(5 / 7)


def test_trust_region_is_validated_when_built() -> None:
    for bad in (0.0, -0.1, math.nan, math.inf):
        with pytest.raises(ValueError, match="delta > 0"):
            TrustRegion(bad)
    with pytest.raises(ValueError, match="divergence"):
        TrustRegion(0.1, "l2")  # type: ignore[arg-type]
    _, learner, advantages, mask = row_tensors(GOLDEN_ROW)
    with pytest.raises(ValueError, match="behaviour logprobs"):
        dppo_loss(None, learner, advantages, mask, TrustRegion())


def test_global_token_count_makes_rank_gradients_add_up() -> None:
    """Two ranks holding unequal parts of the batch, each dividing by the global N: the summed losses and gradients
    are those of the whole batch (what an all-reduced N gives under a sum of rank gradients)."""
    behaviour, learner, advantages, mask = row_tensors(GOLDEN_ROW)
    whole = dppo_loss(behaviour, learner, advantages, mask, TrustRegion())
    (whole_grad,) = torch.autograd.grad(whole.loss, learner)

    split = 3
    parts = [slice(0, split), slice(split, len(GOLDEN_ROW))]
    rank_losses = []
    rank_grads = []
    for part in parts:
        leaf = learner.detach()[part].clone().requires_grad_(True)
        result = dppo_loss(behaviour[part], leaf, advantages[part], mask[part], TrustRegion(), num_tokens=GOLDEN_N)
        (grad,) = torch.autograd.grad(result.loss, leaf)
        rank_losses.append(scalar(result.loss))
        rank_grads.append(grad)
    assert sum(rank_losses) == pytest.approx(GOLDEN_DPPO_LOSS, rel=1e-6)
    torch.testing.assert_close(torch.cat(rank_grads), whole_grad)

    n = torch.tensor(float(GOLDEN_N))
    assert scalar(dppo_loss(behaviour, learner, advantages, mask, TrustRegion(), num_tokens=n).loss) == pytest.approx(
        GOLDEN_DPPO_LOSS, rel=1e-6
    )
    for bad in (0, -3, math.nan):
        with pytest.raises(ValueError, match="positive"):
            dppo_loss(behaviour, learner, advantages, mask, TrustRegion(), num_tokens=bad)
    with pytest.raises(ValueError, match="smaller than this batch's 7"):
        dppo_loss(behaviour, learner, advantages, mask, TrustRegion(), num_tokens=6)


def test_padding_never_reaches_the_gradient() -> None:
    """Masked positions may hold anything on the learner side (-inf, NaN) and packed-row mask values (index + 1)."""
    behaviour, learner, advantages, mask = row_tensors(GOLDEN_ROW)
    garbage = learner.detach().clone()
    garbage[0], garbage[4], garbage[7] = -math.inf, math.nan, math.inf
    garbage.requires_grad_(True)
    trajectory_ids = mask * torch.tensor([0, 1, 1, 1, 0, 0, 1, 0, 2, 2, 2])
    for loss in (
        dppo_loss(behaviour, garbage, advantages, trajectory_ids, TrustRegion()).loss,
        ppo_clip_loss(behaviour, garbage, advantages, trajectory_ids).loss,
        sft_loss(garbage, trajectory_ids),
    ):
        (grad,) = torch.autograd.grad(loss, garbage)
        assert math.isfinite(scalar(loss))
        assert torch.isfinite(grad).all()
        assert grad[mask == 0].eq(0).all()
    assert scalar(dppo_loss(behaviour, garbage, advantages, trajectory_ids, TrustRegion()).loss) == pytest.approx(
        GOLDEN_DPPO_LOSS, rel=1e-6
    )


def test_batches_of_any_shape() -> None:
    behaviour, learner, advantages, mask = row_tensors(GOLDEN_ROW)
    batch = [torch.stack([t, t]) for t in (behaviour, learner.detach(), advantages, mask)]
    batch[1].requires_grad_(True)
    result = dppo_loss(batch[0], batch[1], batch[2], batch[3], TrustRegion())
    assert result.stats.response_tokens == 2 * GOLDEN_N
    assert scalar(result.loss) == pytest.approx(GOLDEN_DPPO_LOSS, rel=1e-6), "the mean of two equal rows"
    with pytest.raises(ValueError, match="shape"):
        dppo_loss(behaviour[:3], learner, advantages, mask, TrustRegion())


def test_stats_of_the_golden_row() -> None:
    result = dppo_loss(*row_tensors(GOLDEN_ROW), region=TrustRegion())
    model = [t for t in GOLDEN_ROW if t.response]
    diffs = [abs(math.log(t.mu) - math.log(t.pi)) for t in model]
    mean = sum(diffs) / len(diffs)
    stats = result.stats
    assert stats.response_tokens == GOLDEN_N and stats.missing_behaviour_logprobs == 0
    assert stats.kept_fraction == pytest.approx(5 / 7)
    assert stats.clip_fraction == pytest.approx(2 / 7), "what PPO-clip would clip: a2 and b0"
    assert stats.logprob_diff_mean == pytest.approx(mean, rel=1e-6)
    assert stats.logprob_diff_max == pytest.approx(math.log(0.05 / 0.02), rel=1e-6), "a2"
    assert stats.logprob_diff_std == pytest.approx(math.sqrt(sum((d - mean) ** 2 for d in diffs) / 7), rel=1e-6)
    reverse_kl = sum(t.mu * (math.log(t.mu) - math.log(t.pi)) for t in model) / 7
    assert stats.reverse_kl == pytest.approx(reverse_kl, rel=1e-6)
    assert stats.ratio_mean == pytest.approx(sum(t.ratio for t in model) / 7, rel=1e-6)


def test_stats_of_an_empty_batch() -> None:
    behaviour, learner, advantages, mask = row_tensors(GOLDEN_ROW)
    result = dppo_loss(behaviour, learner, advantages, torch.zeros_like(mask), TrustRegion())
    assert scalar(result.loss) == 0.0
    assert result.stats.response_tokens == 0 and math.isnan(result.stats.kept_fraction)


@pytest.mark.parametrize(
    ("ratio", "advantage", "has_gradient"),
    [
        (1.3, +1.0, False),
        (1.25, +1.0, True),
        (0.75, -1.0, False),
        (0.85, -1.0, True),
        (1.3, -1.0, True),
        (0.7, 1.0, True),
    ],
)
def test_ppo_clip_zero_gradient_regions(ratio: float, advantage: float, has_gradient: bool) -> None:
    behaviour = torch.tensor([math.log(0.5)])
    learner = torch.tensor([math.log(0.5 * ratio)], requires_grad=True)
    result = ppo_clip_loss(behaviour, learner, torch.tensor([advantage]), torch.tensor([1]))
    (grad,) = torch.autograd.grad(result.loss, learner)
    if has_gradient:
        assert scalar(grad) == pytest.approx(-advantage * ratio, rel=1e-6)
        assert result.stats.clip_fraction == 0.0
    else:
        assert scalar(grad) == 0.0
        assert result.stats.clip_fraction == 1.0
        assert scalar(result.loss) == pytest.approx(-advantage * (1.272 if advantage > 0 else 0.8), rel=1e-6)


def test_sft_is_the_token_mean_nll() -> None:
    learner = torch.tensor([-1.0, -2.0, -3.0, -4.0], requires_grad=True)
    mask = torch.tensor([1, 0, 1, 1])
    loss = sft_loss(learner, mask)
    assert scalar(loss) == pytest.approx(8 / 3)
    (grad,) = torch.autograd.grad(loss, learner)
    assert grad.tolist() == pytest.approx([-1 / 3, 0.0, -1 / 3, -1 / 3])
    assert scalar(sft_loss(learner, mask, num_tokens=8)) == pytest.approx(1.0)

"""The chunked fp32 LM head equals the dense computation (values and gradients) and never keeps [T, V] logits."""

import pytest
import torch

from tmax_learner.loss import chunked_token_logprobs

TOKENS, HIDDEN, VOCAB = 37, 16, 101


def inputs(dtype: torch.dtype = torch.float32, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    hidden = torch.randn(TOKENS, HIDDEN, generator=generator).to(dtype).requires_grad_(True)
    weight = (torch.randn(VOCAB, HIDDEN, generator=generator) * 0.5).to(dtype).requires_grad_(True)
    targets = torch.randint(0, VOCAB, (TOKENS,), generator=generator)
    return hidden, weight, targets


def dense(
    hidden: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor, temperature: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """The reference: full fp32 (or fp64) logits, log-softmax, gather; entropy from the same log-probabilities."""
    dtype = torch.float64 if hidden.dtype == torch.float64 else torch.float32
    log_probs = torch.log_softmax((hidden.to(dtype) @ weight.to(dtype).T) / temperature, dim=-1)
    return log_probs.gather(1, targets[:, None]).squeeze(1), -(log_probs.exp() * log_probs).sum(-1)


def assert_matches(got: torch.Tensor, expected: torch.Tensor, tolerance: float = 1e-6) -> None:
    """Equal to `tolerance`, relative to each element and to the tensor's scale: sums of float32 products taken in
    another order (per chunk rather than in one matmul) differ by about 1e-7 of their magnitude."""
    scale = max(1.0, float(expected.detach().abs().max()))
    torch.testing.assert_close(got, expected, rtol=tolerance, atol=tolerance * scale)


def objective(logprobs: torch.Tensor, entropy: torch.Tensor) -> torch.Tensor:
    """A scalar that weights every token's logprob and entropy differently, so every gradient path is exercised."""
    weights = torch.linspace(-1.0, 2.0, logprobs.shape[0], dtype=logprobs.dtype)
    return (weights * logprobs).sum() + (weights.flip(0) * entropy).sum()


@pytest.mark.parametrize("chunk_size", [1, 8, TOKENS, 4096])
@pytest.mark.parametrize("temperature", [1.0, 0.7])
@pytest.mark.parametrize(("dtype", "tolerance"), [(torch.float32, 1e-6), (torch.float64, 1e-12)])
def test_chunked_equals_dense(chunk_size: int, temperature: float, dtype: torch.dtype, tolerance: float) -> None:
    hidden, weight, targets = inputs(dtype)
    chunked = chunked_token_logprobs(hidden, weight, targets, chunk_size=chunk_size, temperature=temperature)
    chunked_grads = torch.autograd.grad(objective(chunked.logprobs, chunked.entropy), (hidden, weight))
    reference = dense(hidden, weight, targets, temperature)
    dense_grads = torch.autograd.grad(objective(*reference), (hidden, weight))

    assert_matches(chunked.logprobs, reference[0], tolerance)
    assert_matches(chunked.entropy, reference[1], tolerance)
    for got, expected in zip(chunked_grads, dense_grads, strict=True):
        assert_matches(got, expected, tolerance)


def test_logprob_gradient_alone() -> None:
    """Only the logprobs feed the loss (the usual case): the entropy branch of the backward pass is skipped."""
    hidden, weight, targets = inputs(seed=1)
    chunked = chunked_token_logprobs(hidden, weight, targets, chunk_size=5)
    got = torch.autograd.grad(chunked.logprobs.sum(), (hidden, weight))
    expected = torch.autograd.grad(dense(hidden, weight, targets, 1.0)[0].sum(), (hidden, weight))
    for g, e in zip(got, expected, strict=True):
        assert_matches(g, e)


def test_gradcheck_in_double_precision() -> None:
    generator = torch.Generator().manual_seed(2)
    hidden = torch.randn(6, 4, generator=generator, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(9, 4, generator=generator, dtype=torch.float64, requires_grad=True)
    targets = torch.randint(0, 9, (6,), generator=generator)

    def both(h: torch.Tensor, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = chunked_token_logprobs(h, w, targets, chunk_size=4, temperature=0.8)
        return out.logprobs, out.entropy

    assert torch.autograd.gradcheck(both, (hidden, weight))


def test_bf16_inputs_are_computed_in_fp32() -> None:
    hidden, weight, targets = inputs(torch.bfloat16, seed=3)
    chunked = chunked_token_logprobs(hidden, weight, targets, chunk_size=8)
    assert chunked.logprobs.dtype == torch.float32
    assert_matches(chunked.logprobs, dense(hidden, weight, targets, 1.0)[0])
    grad_hidden, grad_weight = torch.autograd.grad(chunked.logprobs.sum(), (hidden, weight))
    assert grad_hidden.dtype == torch.bfloat16 and grad_weight.dtype == torch.bfloat16


def test_full_logits_are_never_kept_for_backward() -> None:
    """Everything autograd saves is smaller than the [T, V] logits (the dense path saves exactly that)."""
    hidden, weight, targets = inputs()
    saved: list[int] = []

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        saved.append(tensor.numel())
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        chunked = chunked_token_logprobs(hidden, weight, targets, chunk_size=8)
    assert saved and max(saved) < TOKENS * VOCAB
    torch.autograd.grad(chunked.logprobs.sum(), (hidden, weight))

    saved.clear()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        dense(hidden, weight, targets, 1.0)
    assert max(saved) >= TOKENS * VOCAB, "the check would notice full logits"


def test_rejects_mismatched_shapes() -> None:
    hidden, weight, targets = inputs()
    with pytest.raises(ValueError, match="targets"):
        chunked_token_logprobs(hidden, weight, targets[:-1])
    with pytest.raises(ValueError, match="head_weight"):
        chunked_token_logprobs(hidden, weight[:, :-1], targets)
    with pytest.raises(ValueError, match="chunk_size"):
        chunked_token_logprobs(hidden, weight, targets, chunk_size=0)

"""The fp32 LM-head vLLM plugin, against stand-ins of vLLM's LogitsProcessor and head (vLLM is not installed here)."""

from importlib.metadata import entry_points
from typing import Any

import pytest
import torch

from tmax_learner import vllm_plugin


class UnquantizedEmbeddingMethod:
    """Named as vLLM's: the plugin recognises an unquantized head by this class name."""

    def apply(self, layer: Any, x: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        return torch.nn.functional.linear(x, layer.weight, bias)


class QuantizedMethod(UnquantizedEmbeddingMethod):
    pass


class StandInHead(torch.nn.Module):
    def __init__(self, weight: torch.Tensor, method: Any) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(weight, requires_grad=False)
        self.quant_method = method


def make_processor_class(with_head_dtype: bool) -> type:
    """The shape of vLLM's LogitsProcessor: _get_logits → quant_method.apply, _gather_logits, vocab padding cut;
    with `head_dtype` it computes in that dtype, as vLLM ≥ the head_dtype override does."""

    class LogitsProcessor:
        def __init__(self, org_vocab_size: int) -> None:
            self.org_vocab_size = org_vocab_size
            self.gathered = 0
            if with_head_dtype:
                self.head_dtype: torch.dtype | None = None

        def _gather_logits(self, logits: torch.Tensor) -> torch.Tensor:
            self.gathered += 1
            return logits

        def _get_logits(self, hidden: torch.Tensor, lm_head: Any, bias: torch.Tensor | None) -> torch.Tensor:
            head_dtype = getattr(self, "head_dtype", None)
            if head_dtype is not None and head_dtype != hidden.dtype:
                logits = torch.nn.functional.linear(hidden.to(head_dtype), lm_head.weight.to(head_dtype))
            else:
                logits = lm_head.quant_method.apply(lm_head, hidden, bias=bias)
            logits = self._gather_logits(logits)
            return logits[..., : self.org_vocab_size]

    return LogitsProcessor


def bf16_case() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    hidden = torch.randn(3, 64, generator=generator).to(torch.bfloat16)
    weight = torch.randn(40, 64, generator=generator).to(torch.bfloat16)
    return hidden, weight


@pytest.mark.parametrize("with_head_dtype", [False, True])
def test_the_patched_head_computes_fp32_logits(with_head_dtype: bool) -> None:
    cls = make_processor_class(with_head_dtype)
    hidden, weight = bf16_case()
    head = StandInHead(weight, UnquantizedEmbeddingMethod())
    before = cls(org_vocab_size=32)._get_logits(hidden, head, None)
    assert before.dtype == torch.bfloat16

    assert vllm_plugin.patch_logits_processor(cls)
    processor = cls(org_vocab_size=32)
    logits = processor._get_logits(hidden, head, None)
    expected = hidden.float() @ weight.float().T
    assert logits.dtype == torch.float32 and logits.shape == (3, 32), "fp32, vocabulary padding cut"
    torch.testing.assert_close(logits, expected[:, :32], rtol=0, atol=1e-5)
    assert processor.gathered == 1, "tensor-parallel gather still runs"
    assert not torch.equal(before.float(), logits), "bf16 logits differ from fp32 ones"
    assert not vllm_plugin.patch_logits_processor(cls), "patching twice is a no-op"


def test_the_fp32_copy_follows_weight_updates() -> None:
    cls = make_processor_class(with_head_dtype=False)
    vllm_plugin.patch_logits_processor(cls)
    hidden, weight = bf16_case()
    head = StandInHead(weight, UnquantizedEmbeddingMethod())
    processor = cls(org_vocab_size=40)
    first = processor._get_logits(hidden, head, None)
    with torch.no_grad():
        head.weight.copy_(-head.weight)  # an in-place weight sync
    second = processor._get_logits(hidden, head, None)
    torch.testing.assert_close(second, -first)
    head.weight = torch.nn.Parameter(head.weight.detach() * 2, requires_grad=False)  # a reload: a new tensor
    torch.testing.assert_close(processor._get_logits(hidden, head, None), 2 * second)


def test_a_quantized_head_is_left_alone() -> None:
    cls = make_processor_class(with_head_dtype=False)
    vllm_plugin.patch_logits_processor(cls)
    hidden, weight = bf16_case()
    logits = cls(org_vocab_size=40)._get_logits(hidden, StandInHead(weight, QuantizedMethod()), None)
    assert logits.dtype == torch.bfloat16


def test_register_does_nothing_unless_enabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(vllm_plugin.ENV_FLAG, raising=False)
    vllm_plugin.register()  # would import vLLM (absent here) if it acted
    assert vllm_plugin.enabled({vllm_plugin.ENV_FLAG: "1"}) and not vllm_plugin.enabled({vllm_plugin.ENV_FLAG: "0"})
    monkeypatch.setenv(vllm_plugin.ENV_FLAG, "1")
    with pytest.raises(ImportError):
        vllm_plugin.register()


def test_the_entry_point_is_vllms_general_plugin_group() -> None:
    found = [e for e in entry_points(group="vllm.general_plugins") if e.name == "tmax_fp32_lm_head"]
    assert len(found) == 1 and found[0].load() is vllm_plugin.register

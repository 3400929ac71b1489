"""A vLLM general plugin: the recipe's FP32 LM head on the inference side (spec rl.md §1 and §11).

Installed with the learner package as the `vllm.general_plugins` entry point `tmax_fp32_lm_head`; vLLM calls
`register()` in every process it starts (API server, engine core, workers). It does nothing unless
`TMAX_VLLM_FP32_LM_HEAD=1` is set, so installing the package never changes a server that did not ask for it
(`VLLM_PLUGINS=tmax_fp32_lm_head` restricts vLLM to this plugin).

When enabled it patches `vllm.model_executor.layers.logits_processor.LogitsProcessor._get_logits` — the method every
model's `compute_logits` reaches (`self.logits_processor(self.lm_head, hidden_states)`), written against vLLM 0.16
through ≈0.33 — so the LM-head projection runs in fp32: the hidden states and the head's weight are taken in fp32 and
the logits come out fp32 (sampling and the processed logprobs then see fp32 logits, as the learner's chunked fp32
head computes them). Two vLLM generations:

* vLLMs whose LogitsProcessor has `head_dtype` (set from `--hf-overrides '{"head_dtype": "float32"}'`): the plugin
  sets `head_dtype = torch.float32` on the instance and lets vLLM's own fp32 path run (on CUDA a bf16 by bf16 matmul
  accumulated into fp32 with no fp32 copy of the weight);
* older ones: the plugin computes `F.linear(hidden.float(), weight.float(), bias)` itself, keeping an fp32 copy of
  the head's weight that is refreshed whenever the weight changes (a weight sync writes it in place, which bumps the
  tensor's version counter, or replaces it), then gathers over tensor parallelism and cuts the vocabulary padding as
  vLLM's method does.

A quantized LM head is left alone (a warning says so). `get_top_tokens` (vLLM's argmax shortcut for greedy requests
without logprobs) is not patched: RL samples at temperature 1 with logprobs.
"""

import importlib
import logging
import os
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

ENV_FLAG = "TMAX_VLLM_FP32_LM_HEAD"
PATCHED_MARK = "_tmax_fp32_lm_head"

logger = logging.getLogger("tmax_learner.vllm_plugin")


def enabled(env: dict[str, str] | None = None) -> bool:
    value = (env if env is not None else os.environ).get(ENV_FLAG, "")
    return value.strip().lower() in ("1", "true", "yes", "on")


def is_unquantized(lm_head: Any) -> bool:
    """vLLM's unquantized embedding / head method (by name: this module must import without vLLM)."""
    return type(getattr(lm_head, "quant_method", None)).__name__ == "UnquantizedEmbeddingMethod"


def fp32_weight(lm_head: Any) -> torch.Tensor:
    """The head's weight in fp32, cached on the module while the weight tensor stays the same tensor at the same
    version (in-place loads bump `_version`; reloads that replace the tensor change its identity)."""
    weight: torch.Tensor = lm_head.weight
    if weight.dtype == torch.float32:
        return weight
    key = (id(weight), weight.data_ptr(), weight._version)
    cached = getattr(lm_head, "_tmax_fp32_weight", None)
    if cached is not None and cached[0] == key:
        copy: torch.Tensor = cached[1]
        return copy
    copy = weight.detach().float()
    lm_head._tmax_fp32_weight = (key, copy)
    return copy


def patch_logits_processor(cls: type, unquantized: Callable[[Any], bool] = is_unquantized) -> bool:
    """Patches `cls._get_logits` (vLLM's LogitsProcessor or a stand-in of the same shape) to an fp32 projection.
    Returns False if it was already patched."""
    original = cls.__dict__.get("_get_logits")
    if original is None:
        raise TypeError(f"{cls.__name__} has no _get_logits: not the LogitsProcessor this plugin was written for")
    if getattr(original, PATCHED_MARK, False):
        return False

    def _get_logits(
        self: Any, hidden_states: torch.Tensor, lm_head: Any, embedding_bias: torch.Tensor | None
    ) -> torch.Tensor | None:
        if not unquantized(lm_head):
            return original(self, hidden_states, lm_head, embedding_bias)  # type: ignore[no-any-return]
        if hasattr(self, "head_dtype"):
            # vLLM's own fp32 head (the --hf-overrides head_dtype path).
            self.head_dtype = torch.float32
            return original(self, hidden_states, lm_head, embedding_bias)  # type: ignore[no-any-return]
        bias = embedding_bias.float() if embedding_bias is not None else None
        logits: torch.Tensor | None = F.linear(hidden_states.float(), fp32_weight(lm_head), bias)
        logits = self._gather_logits(logits)
        if logits is not None:
            logits = logits[..., : self.org_vocab_size]
        return logits

    setattr(_get_logits, PATCHED_MARK, True)
    _get_logits.__doc__ = "LogitsProcessor._get_logits with the LM head in fp32 (tmax_learner.vllm_plugin)."
    cls._get_logits = _get_logits  # type: ignore[attr-defined]
    return True


def register() -> None:
    """vLLM's general-plugin hook (called once per vLLM process, possibly more often: idempotent)."""
    if not enabled():
        return
    module = importlib.import_module("vllm.model_executor.layers.logits_processor")
    if patch_logits_processor(module.LogitsProcessor):
        logger.info("tmax: the LM head computes its logits in fp32 (%s=1)", ENV_FLAG)

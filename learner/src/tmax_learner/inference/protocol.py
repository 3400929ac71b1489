"""vLLM's /v1/completions request and response, for the parts token-in/token-out sampling uses: the request checked
field by field (a clear 400 for anything the reference server cannot honour, never a silently ignored setting) and
turned into engine requests; the engine's results rendered as vLLM's CompletionResponse.

Field names, defaults and limits follow vLLM's CompletionRequest (vllm/entrypoints/openai/completion/protocol.py,
0.19 to 0.33): prompt as token ids, a list of them, a string or a list of strings; max_tokens (default 16);
temperature, top_p, top_k (defaults from the model's generation_config.json, else 1.0 / 1.0 / off); seed; logprobs
(0 to 20); stop_token_ids, ignore_eos, min_tokens; skip_special_tokens (default true); include_stop_str_in_output;
return_token_ids; return_tokens_as_token_ids; cache_salt; add_special_tokens. Fields that change sampling in ways
this server does not implement (penalties, logit_bias, stop strings, n > 1, beam search, streaming, echo) are
refused unless they have their neutral value; any other field is ignored, as vLLM ignores unknown fields.
"""

import math
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tmax_learner.inference.engine import GenerationRequest, GenerationResult
from tmax_learner.inference.sampling import StepSampling

MAX_LOGPROBS = 20
"""vLLM's default --max-logprobs."""
LOGPROB_FLOOR = -9999.0
"""vLLM clamps reported logprobs (-inf included) to this."""


class ApiError(Exception):
    def __init__(self, status: int, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param

    @property
    def error_type(self) -> str:
        return {400: "BadRequestError", 404: "NotFoundError", 409: "ConflictError"}.get(
            self.status, "InternalServerError"
        )

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.error_type, "param": self.param, "code": self.status}}


@dataclass(frozen=True)
class ModelLimits:
    served_names: tuple[str, ...]
    vocab_size: int
    max_model_len: int
    eos_id: int | None
    """The tokenizer's EOS: ends a request with stop_reason null."""
    extra_eos_ids: frozenset[int]
    """generation_config.json / config.json EOS ids besides it: end a request with stop_reason = the id (vLLM adds
    them to the request's stop_token_ids)."""
    default_temperature: float = 1.0
    default_top_p: float = 1.0
    default_top_k: int = 0


@dataclass(frozen=True)
class CompletionCall:
    model: str
    requests: list[GenerationRequest]
    logprobs: int | None
    return_token_ids: bool
    tokens_as_ids: bool
    skip_special_tokens: bool
    include_stop_str_in_output: bool
    request_id: str | None


def _bad(message: str, param: str | None = None) -> ApiError:
    return ApiError(400, message, param)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(body: dict[str, Any], name: str, default: float) -> float:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise _bad(f"{name} must be a finite number, not {value!r}", name)
    return float(value)


def _integer(body: dict[str, Any], name: str, default: int) -> int:
    value = body.get(name)
    if value is None:
        return default
    if not _is_int(value):
        raise _bad(f"{name} must be an integer, not {value!r}", name)
    return int(value)


def _flag(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise _bad(f"{name} must be true or false, not {value!r}", name)
    return value


def _neutral(body: dict[str, Any], name: str, neutral: object, why: str) -> None:
    value = body.get(name)
    if value is not None and value != neutral:
        raise _bad(f"{name}={value!r} is not supported by tmax's reference server ({why})", name)


PROMPT_SHAPE = "prompt must be a list of token ids, a list of such lists, a string or a list of strings"


def _prompts(body: dict[str, Any], encode: Callable[[str, bool], list[int]] | None) -> list[list[int]]:
    prompt = body.get("prompt")
    add_special = _flag(body, "add_special_tokens", True)
    if prompt is None or prompt == "" or prompt == []:
        raise _bad("prompt must be given and non-empty", "prompt")
    if isinstance(prompt, str):
        prompt = [prompt]
    if not isinstance(prompt, list):
        raise _bad(PROMPT_SHAPE, "prompt")
    if all(_is_int(x) for x in prompt):
        prompt = [prompt]
    prompts: list[list[int]] = []
    for item in prompt:
        if isinstance(item, str):
            if encode is None:
                raise _bad("this model dir has no tokenizer: give the prompt as token ids", "prompt")
            ids = encode(item, add_special)
        elif isinstance(item, list) and all(_is_int(x) for x in item):
            ids = [int(x) for x in item]
        else:
            raise _bad(PROMPT_SHAPE, "prompt")
        if not ids:
            raise _bad("a prompt has no tokens", "prompt")
        prompts.append(ids)
    return prompts


def parse_completion(
    body: object, limits: ModelLimits, encode: Callable[[str, bool], list[int]] | None = None
) -> CompletionCall:
    if not isinstance(body, dict):
        raise _bad("the request body must be a JSON object")
    model = body.get("model")
    if model is None:
        model = limits.served_names[0]
    if model not in limits.served_names:
        raise ApiError(404, f"The model `{model}` does not exist.", "model")

    _neutral(body, "stream", False, "streaming is not implemented")
    _neutral(body, "echo", False, "echo is not implemented")
    _neutral(body, "n", 1, "one sample per request; send one request per sample")
    _neutral(body, "best_of", 1, "one sample per request")
    _neutral(body, "use_beam_search", False, "no beam search")
    for name in ("presence_penalty", "frequency_penalty", "min_p"):
        _neutral(body, name, 0, "no penalties or min-p")
    _neutral(body, "repetition_penalty", 1, "no penalties")
    _neutral(body, "logit_bias", {}, "no logit bias")
    _neutral(body, "prompt_logprobs", 0, "no prompt logprobs")
    _neutral(body, "suffix", "", "no suffix")
    stop = body.get("stop")
    if stop not in (None, "", []):
        raise _bad("stop strings are not supported by tmax's reference server: use stop_token_ids", "stop")

    prompts = _prompts(body, encode)
    max_tokens = _integer(body, "max_tokens", 16)
    if max_tokens < 1:
        raise _bad(f"max_tokens must be at least 1, got {max_tokens}", "max_tokens")
    for ids in prompts:
        bad_ids = [x for x in ids if x < 0 or x >= limits.vocab_size]
        if bad_ids:
            vocab = limits.vocab_size
            raise _bad(f"Token id {bad_ids[0]} is out of vocabulary (the model has {vocab} tokens)", "prompt")
        if len(ids) + max_tokens > limits.max_model_len:
            raise _bad(
                f"This model's maximum context length is {limits.max_model_len} tokens. However, you requested "
                f"{len(ids) + max_tokens} tokens ({len(ids)} in the messages, {max_tokens} in the completion). "
                "Please reduce the length of the messages or completion.",
                "max_tokens",
            )

    temperature = _number(body, "temperature", limits.default_temperature)
    if temperature < 0:
        raise _bad(f"temperature must be non-negative, got {temperature}", "temperature")
    top_p = _number(body, "top_p", limits.default_top_p)
    if not 0 < top_p <= 1:
        raise _bad(f"top_p must be in (0, 1], got {top_p}", "top_p")
    top_k = _integer(body, "top_k", limits.default_top_k)
    if top_k < -1:
        raise _bad(f"top_k must be -1 (disable), 0 (disable) or at least 1, got {top_k}", "top_k")
    seed = body.get("seed")
    if seed is not None and (not _is_int(seed) or not -(2**63) <= seed < 2**64):
        raise _bad(f"seed must be a 64-bit integer, not {seed!r}", "seed")
    logprobs = body.get("logprobs")
    if logprobs is not None and (not _is_int(logprobs) or not 0 <= logprobs <= MAX_LOGPROBS):
        raise _bad(f"logprobs must be an integer from 0 to {MAX_LOGPROBS}, not {logprobs!r}", "logprobs")
    min_tokens = _integer(body, "min_tokens", 0)
    if not 0 <= min_tokens <= max_tokens:
        raise _bad(f"min_tokens must be from 0 to max_tokens ({max_tokens}), got {min_tokens}", "min_tokens")
    stop_token_ids = body.get("stop_token_ids") or []
    if not isinstance(stop_token_ids, list) or not all(_is_int(x) and x >= 0 for x in stop_token_ids):
        raise _bad("stop_token_ids must be a list of token ids", "stop_token_ids")
    ignore_eos = _flag(body, "ignore_eos", False)
    cache_salt = body.get("cache_salt")
    if cache_salt is not None and (not isinstance(cache_salt, str) or not 1 <= len(cache_salt) <= 1024):
        raise _bad("cache_salt must be a string of 1 to 1024 characters", "cache_salt")
    request_id = body.get("request_id")

    eos_ids: frozenset[int] = frozenset()
    if not ignore_eos and limits.eos_id is not None:
        eos_ids = frozenset({limits.eos_id})
    stop_ids = eos_ids | frozenset(stop_token_ids)
    if not ignore_eos:
        stop_ids |= limits.extra_eos_ids
    sampling = StepSampling(temperature=temperature, top_p=top_p, top_k=max(top_k, 0))
    requests = [
        GenerationRequest(
            prompt_ids=ids,
            max_tokens=max_tokens,
            sampling=sampling,
            seed=int(seed) if seed is not None else None,
            stop_ids=stop_ids,
            eos_ids=eos_ids,
            min_tokens=min_tokens,
            top_logprobs=int(logprobs) if logprobs else 0,
        )
        for ids in prompts
    ]
    return CompletionCall(
        model=str(model),
        requests=requests,
        logprobs=int(logprobs) if logprobs is not None else None,
        return_token_ids=_flag(body, "return_token_ids", False),
        tokens_as_ids=_flag(body, "return_tokens_as_token_ids", False),
        skip_special_tokens=_flag(body, "skip_special_tokens", True),
        include_stop_str_in_output=_flag(body, "include_stop_str_in_output", False),
        request_id=request_id if isinstance(request_id, str) else None,
    )


def _floor(logprob: float) -> float:
    return max(logprob, LOGPROB_FLOOR)


def completion_response(
    call: CompletionCall,
    results: Sequence[GenerationResult],
    decode: Callable[[list[int], bool], str] | None,
    response_id: str | None = None,
) -> dict[str, Any]:
    """vLLM's CompletionResponse, plus `weight_versions` on each choice (the spans vLLM's /inference/v1/generate
    reports; its /v1/completions does not)."""

    def text_of(ids: list[int]) -> str:
        return decode(ids, call.skip_special_tokens) if decode is not None else ""

    def token_text(token: int) -> str:
        if call.tokens_as_ids or decode is None:
            return f"token_id:{token}"
        return decode([token], False)

    choices: list[dict[str, Any]] = []
    prompt_tokens = completion_tokens = 0
    for index, (request, result) in enumerate(zip(call.requests, results, strict=True)):
        ids = result.ids
        # vLLM leaves the stopping token out of the text unless include_stop_str_in_output (the ids keep it).
        stopped = result.finish_reason == "stop" and not call.include_stop_str_in_output
        text = text_of(ids[:-1] if stopped else ids)
        logprobs: dict[str, Any] | None = None
        if call.logprobs is not None:
            tokens = [token_text(t) for t in ids]
            offsets: list[int] = []
            position = 0
            for token in tokens:
                offsets.append(position)
                position += len(token)
            top_entries: list[dict[str, float] | None] = []
            for sampled, lp, top in zip(ids, result.logprobs, result.top, strict=True):
                entry = {token_text(sampled): _floor(lp)}
                for other, other_lp in top:
                    entry.setdefault(token_text(other), _floor(other_lp))
                top_entries.append(entry)
            logprobs = {
                "text_offset": offsets,
                "token_logprobs": [_floor(lp) for lp in result.logprobs],
                "tokens": tokens,
                "top_logprobs": top_entries,
            }
        choices.append(
            {
                "index": index,
                "text": text,
                "logprobs": logprobs,
                "finish_reason": result.finish_reason,
                "stop_reason": result.stop_reason,
                "token_ids": list(ids) if call.return_token_ids else None,
                "prompt_logprobs": None,
                "prompt_token_ids": list(request.prompt_ids) if call.return_token_ids else None,
                "weight_versions": [
                    {"version": span.version, "start": span.start, "end": span.end} for span in result.weight_versions
                ],
            }
        )
        prompt_tokens += len(request.prompt_ids)
        completion_tokens += len(ids)
    return {
        "id": response_id or f"cmpl-{uuid.uuid4().hex}",
        "object": "text_completion",
        "created": int(time.time()),
        "model": call.model,
        "choices": choices,
        "usage": {
            "prompt_tokens": prompt_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "completion_tokens": completion_tokens,
            "prompt_tokens_details": None,
        },
    }

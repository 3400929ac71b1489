"""vLLM's /v1/chat/completions on top of the completion path, for clients that speak chat (the tmax agent, e.g. to
evaluate a checkpoint): the messages and tools are rendered with the model dir's chat template
(`apply_chat_template`, `chat_template_kwargs` passed on, the generation prompt added), the ids are sampled exactly
as a /v1/completions request with the same settings, and the reply is vLLM's ChatCompletionResponse.

There is no tool-call or reasoning parser (as vLLM without --enable-auto-tool-choice / --reasoning-parser): tool calls
stay in `message.content` as the model wrote them, and `tool_calls` is empty; tmax's chat client reads Hermes and
Qwen3-XML tool calls from the text. Assistant tool calls in the history have their JSON `arguments` decoded for the
template, as vLLM does.
"""

import json
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from tmax_learner.inference.engine import GenerationResult
from tmax_learner.inference.protocol import LOGPROB_FLOOR, ApiError, CompletionCall

Render = Callable[[list[dict[str, Any]], list[dict[str, Any]] | None, dict[str, Any]], list[int]]

# Fields of a chat request that are passed on to the completion path unchanged.
_SAMPLING_FIELDS = (
    "model",
    "temperature",
    "top_p",
    "top_k",
    "seed",
    "stop",
    "stop_token_ids",
    "ignore_eos",
    "min_tokens",
    "skip_special_tokens",
    "include_stop_str_in_output",
    "return_token_ids",
    "cache_salt",
    "n",
    "stream",
    "presence_penalty",
    "frequency_penalty",
    "repetition_penalty",
    "min_p",
    "logit_bias",
    "prompt_logprobs",
    "request_id",
    "use_beam_search",
)


def _template_messages(messages: object) -> list[dict[str, Any]]:
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
        raise ApiError(400, "messages must be a non-empty list of message objects", "messages")
    rendered: list[dict[str, Any]] = []
    for message in messages:
        if not isinstance(message.get("role"), str):
            raise ApiError(400, "every message needs a role", "messages")
        copy = dict(message)
        calls = copy.get("tool_calls")
        if isinstance(calls, list):
            decoded = []
            for call in calls:
                function = dict(call.get("function") or {}) if isinstance(call, dict) else {}
                arguments = function.get("arguments")
                if isinstance(arguments, str):
                    try:
                        function["arguments"] = json.loads(arguments) if arguments.strip() else {}
                    except json.JSONDecodeError as err:
                        raise ApiError(400, f"a tool call's arguments are not JSON: {err}", "messages") from err
                decoded.append({**call, "function": function} if isinstance(call, dict) else call)
            copy["tool_calls"] = decoded
        rendered.append(copy)
    return rendered


def chat_to_completion(body: object, render: Render | None, max_model_len: int) -> dict[str, Any]:
    """The /v1/completions body that samples this chat request: the prompt as the template's token ids."""
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    if render is None:
        raise ApiError(400, "this model dir has no tokenizer and chat template: use /v1/completions with token ids")
    tools = body.get("tools")
    if tools is not None and (not isinstance(tools, list) or not all(isinstance(t, dict) for t in tools)):
        raise ApiError(400, "tools must be a list of tool objects", "tools")
    choice = body.get("tool_choice")
    if choice not in (None, "auto", "none"):
        raise ApiError(400, "tool_choice must be auto or none here (there is no tool-call parser)", "tool_choice")
    kwargs = body.get("chat_template_kwargs") or {}
    if not isinstance(kwargs, dict):
        raise ApiError(400, "chat_template_kwargs must be an object", "chat_template_kwargs")
    try:
        prompt = render(_template_messages(body.get("messages")), tools or None, kwargs)
    except ApiError:
        raise
    except Exception as err:  # the template's own errors (a role it refuses, a missing field)
        raise ApiError(400, f"the chat template failed: {type(err).__name__}: {err}", "messages") from err
    completion = {name: body[name] for name in _SAMPLING_FIELDS if name in body}
    completion["prompt"] = prompt
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    # vLLM's chat default: whatever room the context leaves.
    completion["max_tokens"] = max_tokens if max_tokens is not None else max(1, max_model_len - len(prompt))
    logprobs = body.get("logprobs")
    if logprobs not in (None, False, True):
        raise ApiError(400, "logprobs must be true or false", "logprobs")
    top = body.get("top_logprobs")
    if logprobs:
        completion["logprobs"] = top if top is not None else 0
    elif top not in (None, 0):
        raise ApiError(400, "top_logprobs needs logprobs: true", "top_logprobs")
    return completion


def chat_response(
    call: CompletionCall,
    results: Sequence[GenerationResult],
    decode: Callable[[list[int], bool], str],
    response_id: str | None = None,
) -> dict[str, Any]:
    def entry(token: int, logprob: float) -> dict[str, Any]:
        text = decode([token], False)
        return {"token": text, "logprob": max(logprob, LOGPROB_FLOOR), "bytes": list(text.encode("utf-8"))}

    choices: list[dict[str, Any]] = []
    completion_tokens = 0
    for index, result in enumerate(results):
        ids = result.ids
        stopped = result.finish_reason == "stop" and not call.include_stop_str_in_output
        logprobs = None
        if call.logprobs is not None:
            content = []
            for token, logprob, top in zip(ids, result.logprobs, result.top, strict=True):
                item = entry(token, logprob)
                item["top_logprobs"] = [entry(other, other_lp) for other, other_lp in top]
                content.append(item)
            logprobs = {"content": content}
        choices.append(
            {
                "index": index,
                "message": {
                    "role": "assistant",
                    "content": decode(ids[:-1] if stopped else ids, call.skip_special_tokens),
                    "tool_calls": [],
                    "reasoning": None,
                    "reasoning_content": None,
                },
                "logprobs": logprobs,
                "finish_reason": result.finish_reason,
                "stop_reason": result.stop_reason,
                "token_ids": list(ids) if call.return_token_ids else None,
                "weight_versions": [
                    {"version": span.version, "start": span.start, "end": span.end} for span in result.weight_versions
                ],
            }
        )
        completion_tokens += len(ids)
    prompt = call.requests[0].prompt_ids
    return {
        "id": response_id or f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": call.model,
        "choices": choices,
        "usage": {
            "prompt_tokens": len(prompt),
            "total_tokens": len(prompt) + completion_tokens,
            "completion_tokens": completion_tokens,
            "prompt_tokens_details": None,
        },
        "prompt_logprobs": None,
        "prompt_token_ids": list(prompt) if call.return_token_ids else None,
    }

/** OpenAI chat-completions shapes, as tmax sends and stores them. */

export interface ToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

/** A chat message. Assistant messages are kept exactly as received, extra fields (reasoning_content, …) included. */
export interface ChatMessage {
  role: "system" | "user" | "assistant" | "tool";
  content: string | null;
  tool_calls?: ToolCall[];
  tool_call_id?: string;
  [extra: string]: unknown;
}

export interface FunctionTool {
  type: "function";
  function: { name: string; description: string; parameters: Record<string, unknown> };
}

export interface SamplingParams {
  temperature?: number | null;
  top_p?: number | null;
  max_tokens?: number | null;
  /** Sent as `max_tokens` (vLLM, Ollama, llama.cpp) or `max_completion_tokens` (newer OpenAI models). */
  maxTokensParam?: "max_tokens" | "max_completion_tokens";
  /** Extra request-body fields (e.g. top_k, chat_template_kwargs). */
  extraBody?: Record<string, unknown>;
  /**
   * Ask the server for the turn's token data: per-token logprobs of the sampled tokens (`logprobs: true`) and the
   * prompt and completion token ids (vLLM's `return_token_ids: true`, since 0.10.2). A server that rejects either
   * parameter is asked again without it, and the reply then lacks that part.
   */
  tokenDetails?: boolean;
}

/** Token-level facts of one model turn, when the server reports them. */
export interface TurnTokens {
  /** The whole prompt of this turn as token ids (history included), or null when not reported. */
  promptTokenIds: number[] | null;
  /** The sampled completion's token ids, or null when not reported. */
  completionTokenIds: number[] | null;
  /** Logprob of each sampled token (same length as the completion), or null when not reported. */
  logprobs: number[] | null;
}

export interface ModelUsage {
  promptTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  cachedTokens: number;
  /** Cost reported by the server (e.g. OpenRouter's usage.cost), when it reports one. */
  costUsd: number | null;
}

export interface ModelReply {
  message: ChatMessage;
  finishReason: string | null;
  usage: ModelUsage;
  /** Seconds spent in the request(s), retries and back-off included. */
  latencySec: number;
  /** Attempts made (1 = no retry). */
  attempts: number;
  /** Present when the request asked for token details and the server returned any. */
  tokens?: TurnTokens;
}

/** The boundary between an agent and a model server. */
export interface ModelClient {
  /** Model name sent to the server. */
  readonly model: string;
  complete(messages: ChatMessage[], tools: FunctionTool[], params: SamplingParams, signal?: AbortSignal): Promise<ModelReply>;
}

/**
 * One sampling call of a token-in/token-out rollout: the prompt as token ids, one sample. The prefix-cache salt is
 * derived from `group` and `policyVersion` (cache-salt.ts), so samples of one group share the cached prompt only
 * while the weights are the same.
 */
export interface TokenRequest {
  /** The whole prompt as token ids (chat template, history and observations already applied). */
  promptIds: number[];
  /** Most tokens to sample (≥ 1). */
  maxTokens: number;
  temperature: number;
  topP: number;
  /** Sampling seed (the recipe: 42 + index of the sample in its group). */
  seed: number;
  /** The prompt group (the G samples of one task) the sample belongs to. */
  group: string;
  /** The policy (weights) version the request is meant for: the trainer's model step, an integer ≥ 0. */
  policyVersion: number;
}

/** Why sampling ended: "stop" = an end-of-sequence token (included in the ids), "length" = maxTokens reached. */
export type TokenFinishReason = "stop" | "length";

/** Output tokens [start, end) were sampled by the weights the server labels `version` (vLLM's weight_versions). */
export interface WeightVersionSpan {
  version: string;
  start: number;
  end: number;
}

export interface TokenReply {
  /** The sampled token ids, the end-of-sequence token included when finishReason is "stop". */
  ids: number[];
  /**
   * The logprob of each sampled token, as the server computed it when sampling (same length as `ids`). These are
   * the behaviour logprobs μ of the recipe only when vLLM runs with `--logprobs-mode processed_logprobs` (after
   * temperature and top-p); its default, raw_logprobs, reports the model's unscaled distribution.
   */
  logprobs: number[];
  finishReason: TokenFinishReason;
  /** The sampled text, special tokens kept (for parsing tool calls; the ids are what counts). */
  text: string;
  /** Which weights sampled which tokens, when the server reports it; null when it does not. */
  weightVersions: WeightVersionSpan[] | null;
  /** Prompt tokens the server found in its prefix cache, when it reports them (vLLM: --enable-prompt-tokens-details). */
  cachedPromptTokens: number | null;
  /** Seconds spent in the request(s), retries and back-off included. */
  latencySec: number;
  /** Attempts made (1 = no retry). */
  attempts: number;
}

/** The boundary between a token-level rollout and an inference server. */
export interface TokenModelClient {
  /** Model name sent to the server. */
  readonly model: string;
  sample(request: TokenRequest, signal?: AbortSignal): Promise<TokenReply>;
}

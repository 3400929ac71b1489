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

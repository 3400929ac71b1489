import type { ChatMessage, FunctionTool, ModelUsage, TurnTokens } from "../../model/types.js";

/** What a policy is asked: the conversation so far (system, user, then alternating turns and results) and the tools. */
export interface PolicyRequest {
  messages: readonly ChatMessage[];
  tools: readonly FunctionTool[];
}

/** One assistant turn a policy produced. */
export interface PolicyTurn {
  /**
   * The assistant message as the model produced it. A chat policy passes the server's message (native `tool_calls`
   * or calls written as text); a token policy decodes its sampled ids into `content` (reasoning and call markup
   * included) and leaves the calls to the harness's text parser.
   */
  message: ChatMessage;
  /** "stop", "length", "tool_calls", … as the server reported it; null when unknown. */
  finishReason: string | null;
  usage: ModelUsage;
  /** Dollars this turn cost, when known (reported by the server or priced by the policy). */
  costUsd: number | null;
  /** Seconds spent producing the turn, retries included. */
  latencySec: number;
  /** Requests made for this turn (1 = no retry). */
  attempts: number;
  /** Token ids and logprobs of the turn, when the policy has them (token policies always; chat policies on request). */
  tokens: TurnTokens | null;
}

/** Why a policy cannot produce another turn: the model's context is full, or a token budget is spent. */
export type PolicyExhaustion = "context_window" | "token_budget";

export type PolicyReply = { kind: "turn"; turn: PolicyTurn } | { kind: "exhausted"; reason: PolicyExhaustion; detail: string };

/**
 * The model side of an episode: given the conversation so far, the next assistant turn. Two implementations fit:
 * a chat policy (messages in, a chat-completions reply out) and a token policy (it keeps the episode's token stream,
 * renders new messages with the model's chat template, samples ids with logprobs). A policy sees every message the
 * harness appended since its previous turn (tool results, format-error feedback) in `request.messages`.
 *
 * `next` ends the episode gracefully by answering `exhausted`; it throws for failures that should end the run as an
 * error (authentication, an unreachable server after its retries), and rejects with the signal's reason on abort.
 */
export interface Policy {
  /** Model name recorded in trajectories. */
  readonly model: string;
  next(request: PolicyRequest, signal: AbortSignal): Promise<PolicyReply>;
}

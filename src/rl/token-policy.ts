import type { Policy, PolicyReply, PolicyRequest } from "../agent/tmax/policy.js";
import type { ChatMessage, FunctionTool, TokenModelClient, TokenReply } from "../model/types.js";
import type { RolloutTurn } from "./rollout.js";

/**
 * The token-in/token-out policy of an RL rollout (spec rl.md §5): it keeps the episode's token stream itself —
 * the chat-templated prompt, then each sampled turn and each wrapped observation appended as ids — and asks the
 * inference server for the next turn given the whole stream. What the model sampled is recorded with its
 * behaviour logprobs and loss mask 1; everything tmax appended (observations, role headers, a forced `<think>\n`)
 * with logprob 0.0 and mask 0. The harness loop (episode.ts) is the same one evaluation runs.
 */

/** What the policy needs of a model's tokenizer and chat template. */
export interface PromptCodec {
  /** The chat template applied to [system, user] with the tools and the generation prompt, as ids. */
  promptIds(messages: readonly ChatMessage[], tools: readonly FunctionTool[]): number[];
  /** Ids of text tokenized as is, with no special tokens added around it. */
  encode(text: string): number[];
  /** Text of ids, special tokens kept. */
  decode(ids: readonly number[]): string;
  /**
   * The observations of one model turn as the model family's template shows tool results, then the opening of the
   * next assistant turn (one opener after all of them, as a re-render with the template has it).
   */
  wrapObservations(observations: readonly string[]): string;
  /** The end-of-sequence id: a rollout with no sampled token gets this one (spec §5). */
  readonly eosTokenId: number;
}

/** The token budgets of spec §1/§5. */
export interface TokenBudgets {
  /** Tokens one turn may sample (16,384). */
  turn: number;
  /** Tokens of the whole response, sampled and appended (65,536). */
  response: number;
  /** Tokens of prompt + response (67,584). */
  context: number;
}

export const RECIPE_BUDGETS: TokenBudgets = { turn: 16_384, response: 65_536, context: 67_584 };

export interface SamplingSettings {
  temperature: number;
  topP: number;
  /** Per sample: 42 + j in the recipe. */
  seed: number;
  /** The group (one task's G samples) and the weights version: together they key the server's prefix cache. */
  group: string;
  policyVersion: number;
}

/** The token stream of one rollout so far. */
export interface TokenStream {
  promptIds: number[];
  responseIds: number[];
  lossMask: number[];
  logprobs: number[];
  turns: RolloutTurn[];
  /** Seconds spent waiting for the server. */
  modelSec: number;
}

export class TokenPolicy implements Policy {
  readonly stream: TokenStream = { promptIds: [], responseIds: [], lossMask: [], logprobs: [], turns: [], modelSec: 0 };
  /** Messages of the conversation already in the stream. */
  private seen = 0;
  /** The EOS token as text, cut from the end of each turn's message. */
  private readonly eosText: string;

  constructor(
    private readonly client: TokenModelClient,
    private readonly codec: PromptCodec,
    private readonly sampling: SamplingSettings,
    private readonly budgets: TokenBudgets = RECIPE_BUDGETS,
  ) {
    this.eosText = codec.decode([codec.eosTokenId]);
  }

  get model(): string {
    return this.client.model;
  }

  async next(request: PolicyRequest, signal: AbortSignal): Promise<PolicyReply> {
    signal.throwIfAborted();
    const { stream, budgets } = this;
    if (this.seen === 0) {
      stream.promptIds = this.codec.promptIds(request.messages, request.tools);
      this.seen = request.messages.length;
    } else {
      const cut = this.appendObservations(request.messages.slice(this.seen));
      this.seen = request.messages.length;
      if (cut) return { kind: "exhausted", reason: cut, detail: "an observation was cut to fit the token budget" };
    }
    const budget = budgets.response - stream.responseIds.length;
    const room = budgets.context - this.length();
    if (budget <= 0) return { kind: "exhausted", reason: "token_budget", detail: `the response budget of ${budgets.response} tokens is spent` };
    if (room <= 0) return { kind: "exhausted", reason: "context_window", detail: `the context of ${budgets.context} tokens is full` };

    const reply = await this.client.sample(
      {
        promptIds: [...stream.promptIds, ...stream.responseIds],
        maxTokens: Math.max(1, Math.min(budget, room, budgets.turn)),
        temperature: this.sampling.temperature,
        topP: this.sampling.topP,
        seed: this.sampling.seed,
        group: this.sampling.group,
        policyVersion: this.sampling.policyVersion,
      },
      signal,
    );
    return { kind: "turn", turn: this.record(reply) };
  }

  /** Ids of prompt + response so far. */
  private length(): number {
    return this.stream.promptIds.length + this.stream.responseIds.length;
  }

  private record(reply: TokenReply): Extract<PolicyReply, { kind: "turn" }>["turn"] {
    const { stream } = this;
    const start = stream.responseIds.length;
    stream.responseIds.push(...reply.ids);
    stream.logprobs.push(...reply.logprobs);
    for (let i = 0; i < reply.ids.length; i++) stream.lossMask.push(1);
    stream.turns.push({ start, end: stream.responseIds.length, finishReason: reply.finishReason });
    stream.modelSec += reply.latencySec;
    const promptTokens = this.length() - reply.ids.length;
    return {
      // The harness reads the bash calls out of the text (qwen3_xml or Hermes JSON), reasoning and markup included.
      message: { role: "assistant", content: stripTrailingEos(this.codec.decode(reply.ids), this.eosText) },
      finishReason: reply.finishReason,
      usage: { promptTokens, completionTokens: reply.ids.length, reasoningTokens: 0, cachedTokens: reply.cachedPromptTokens ?? 0, costUsd: null },
      costUsd: null,
      latencySec: reply.latencySec,
      attempts: reply.attempts,
      // The whole stream is kept once, in `stream`; a copy of the prompt per turn would grow quadratically.
      tokens: { promptTokenIds: null, completionTokenIds: reply.ids, logprobs: reply.logprobs },
    };
  }

  /**
   * Appends the tool results the harness added since the last turn, wrapped for the model family, with mask 0 and
   * logprob 0.0. What does not fit is cut, first to the context and then to the response budget; the cut reason is
   * returned, and the episode then ends (spec §5).
   */
  private appendObservations(messages: readonly ChatMessage[]): "context_window" | "token_budget" | null {
    const { stream, budgets } = this;
    const observations = messages.filter((m) => m.role === "tool").map((m) => m.content ?? "");
    if (observations.length === 0) return null;
    const ids = this.codec.encode(this.codec.wrapObservations(observations));
    const room = Math.max(0, budgets.context - this.length());
    const budget = Math.max(0, budgets.response - stream.responseIds.length);
    const keep = Math.min(ids.length, room, budget);
    stream.responseIds.push(...ids.slice(0, keep));
    for (let i = 0; i < keep; i++) {
      stream.lossMask.push(0);
      stream.logprobs.push(0);
    }
    if (keep === ids.length) return null;
    return keep === room ? "context_window" : "token_budget";
  }

  /** The stream as the learner takes it: a response that sampled nothing is one EOS with a NaN logprob (spec §5). */
  finalStream(): TokenStream {
    const { stream } = this;
    if (stream.responseIds.length > 0) return stream;
    return { ...stream, responseIds: [this.codec.eosTokenId], lossMask: [1], logprobs: [Number.NaN] };
  }
}

function stripTrailingEos(text: string, eos: string): string {
  return eos && text.endsWith(eos) ? text.slice(0, -eos.length) : text;
}

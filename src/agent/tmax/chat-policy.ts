import { ModelError } from "../../model/errors.js";
import type { ModelClient, ModelReply, SamplingParams } from "../../model/types.js";
import type { Policy, PolicyReply, PolicyRequest } from "./policy.js";

/** Dollars per million prompt and completion tokens, for servers that do not report cost. */
export interface TokenPrices {
  inputPerMtok?: number;
  outputPerMtok?: number;
}

/** A turn's cost: the server's figure when it reports one, else priced from the token counts, else unknown. */
export function turnCost(reply: Pick<ModelReply, "usage">, prices: TokenPrices): number | null {
  if (reply.usage.costUsd != null) return reply.usage.costUsd;
  if (prices.inputPerMtok === undefined && prices.outputPerMtok === undefined) return null;
  return (reply.usage.promptTokens * (prices.inputPerMtok ?? 0) + reply.usage.completionTokens * (prices.outputPerMtok ?? 0)) / 1e6;
}

/**
 * The policy of a chat-completions server (any ModelClient): each turn sends the whole conversation with the tools.
 * A full context window ends the episode gracefully (as the Tmax harness does); other model errors propagate.
 */
export class ChatPolicy implements Policy {
  constructor(
    private readonly client: ModelClient,
    private readonly params: SamplingParams,
    private readonly prices: TokenPrices = {},
  ) {}

  get model(): string {
    return this.client.model;
  }

  async next(request: PolicyRequest, signal: AbortSignal): Promise<PolicyReply> {
    let reply: ModelReply;
    try {
      reply = await this.client.complete([...request.messages], [...request.tools], this.params, signal);
    } catch (err) {
      if (!signal.aborted && err instanceof ModelError && err.kind === "context_window") {
        return { kind: "exhausted", reason: "context_window", detail: err.message };
      }
      throw err;
    }
    return {
      kind: "turn",
      turn: {
        message: reply.message,
        finishReason: reply.finishReason,
        usage: reply.usage,
        costUsd: turnCost(reply, this.prices),
        latencySec: reply.latencySec,
        attempts: reply.attempts,
        tokens: reply.tokens ?? null,
      },
    };
  }
}

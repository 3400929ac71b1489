import { ModelError } from "../../model/errors.js";
import type { ModelClient, ModelReply, SamplingParams } from "../../model/types.js";
import { setLongTimeout } from "../../util/timers.js";
import type { Policy, PolicyReply, PolicyRequest } from "./policy.js";

/** Dollars per million prompt and completion tokens, for servers that do not report cost. */
export interface TokenPrices {
  inputPerMtok?: number;
  outputPerMtok?: number;
}

export interface ChatPolicyOptions {
  prices?: TokenPrices;
  /**
   * Seconds the episode may spend waiting for the model server in all — every request, retry and back-off of every
   * turn — before it ends with ModelWaitBudgetExceededError. 0 or absent: no budget.
   */
  waitBudgetSec?: number;
}

/** A turn's cost: the server's figure when it reports one, else priced from the token counts, else unknown. */
export function turnCost(reply: Pick<ModelReply, "usage">, prices: TokenPrices): number | null {
  if (reply.usage.costUsd != null) return reply.usage.costUsd;
  if (prices.inputPerMtok === undefined && prices.outputPerMtok === undefined) return null;
  return (reply.usage.promptTokens * (prices.inputPerMtok ?? 0) + reply.usage.completionTokens * (prices.outputPerMtok ?? 0)) / 1e6;
}

/** The episode waited for the model server as long as its budget allows; the call in flight was abandoned. */
export class ModelWaitBudgetExceededError extends Error {
  override name = "ModelWaitBudgetExceededError";
}

/**
 * The policy of a chat-completions server (any ModelClient): each turn sends the whole conversation with the tools.
 * A full context window ends the episode gracefully (as the Tmax harness does); other model errors propagate. With a
 * wait budget, each call is abandoned once the budget left runs out — so a request's timeout is in effect the lesser
 * of the client's request timeout and the budget left — and the episode then ends with ModelWaitBudgetExceededError.
 */
export class ChatPolicy implements Policy {
  private readonly prices: TokenPrices;
  private readonly waitBudgetMs: number;
  /** Milliseconds spent in model calls so far (successful or not). */
  private waitedMs = 0;

  constructor(
    private readonly client: ModelClient,
    private readonly params: SamplingParams,
    opts: ChatPolicyOptions = {},
  ) {
    this.prices = opts.prices ?? {};
    this.waitBudgetMs = opts.waitBudgetSec ? opts.waitBudgetSec * 1000 : Number.POSITIVE_INFINITY;
  }

  get model(): string {
    return this.client.model;
  }

  async next(request: PolicyRequest, signal: AbortSignal): Promise<PolicyReply> {
    signal.throwIfAborted();
    const leftMs = this.waitBudgetMs - this.waitedMs;
    if (leftMs <= 0) throw this.budgetSpent();
    // The call's own signal: the run's abort, or the end of the budget, whichever comes first.
    const call = new AbortController();
    const onAbort = (): void => call.abort(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    const timer = setLongTimeout(() => call.abort(this.budgetSpent()), leftMs);
    const started = performance.now();
    let reply: ModelReply;
    try {
      reply = await this.client.complete([...request.messages], [...request.tools], this.params, call.signal);
    } catch (err) {
      if (signal.aborted) throw err;
      if (call.signal.aborted) throw call.signal.reason;
      if (err instanceof ModelError && err.kind === "context_window") {
        return { kind: "exhausted", reason: "context_window", detail: err.message };
      }
      throw err;
    } finally {
      timer.clear();
      signal.removeEventListener("abort", onAbort);
      this.waitedMs += performance.now() - started;
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

  private budgetSpent(): ModelWaitBudgetExceededError {
    const budgetSec = this.waitBudgetMs / 1000;
    return new ModelWaitBudgetExceededError(
      `model-wait budget spent: waited ${budgetSec} s in all for the model server (requests, retries and back-off; --ak model_wait_budget_sec)`,
    );
  }
}

import { sleep } from "../util/sleep.js";
import { type ModelError, ModelUnavailableError } from "./errors.js";

export interface RetryPolicy {
  /** Total attempts (the Tmax harness: 5). */
  attempts: number;
  /** Delay before retry n (1-based) is baseDelaySec × 2^(n−1): 2, 4, 8, 16 s by default. */
  baseDelaySec: number;
  /** The longest wait a server's Retry-After can impose before one retry; a longer request is cut to this. */
  maxRetryAfterSec: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelaySec: 2, maxRetryAfterSec: 60 };

/**
 * Seconds to wait before retry `attempt` (1-based) after `err`: the exponential back-off, or the server's Retry-After
 * when that is longer, capped at `maxRetryAfterSec`. A Retry-After never shortens the back-off: a server that says 0
 * (or a date in the past) while failing is not hammered.
 */
export function retryDelaySec(policy: RetryPolicy, attempt: number, err: Pick<ModelError, "retryAfterSec">): number {
  const backoff = policy.baseDelaySec * 2 ** (attempt - 1);
  if (err.retryAfterSec === null) return backoff;
  return Math.max(backoff, Math.min(err.retryAfterSec, policy.maxRetryAfterSec));
}

/** Seconds for a message: at most two decimals. */
const seconds = (sec: number): number => Math.round(sec * 100) / 100;

/** The line a client reports before retry `attempt`: the error, which retry of how many, the wait and what the server asked for. */
export function retryNotice(err: ModelError, attempt: number, policy: RetryPolicy, delaySec: number): string {
  const asked = err.retryAfterSec === null ? "" : ` (the server asked for ${seconds(err.retryAfterSec)} s)`;
  return `${err.message}; retry ${attempt} of ${policy.attempts - 1} in ${seconds(delaySec)} s${asked}`;
}

/**
 * Runs `fn` until it succeeds, retrying transient model errors with exponential back-off (or the server's
 * Retry-After). Non-transient errors (authentication, not found, context window, …) propagate at once.
 */
export async function withRetries<T>(
  fn: (attempt: number) => Promise<T>,
  policy: RetryPolicy,
  opts: { signal?: AbortSignal; onRetry?: (err: ModelError, attempt: number, delaySec: number) => void; classify: (err: unknown) => ModelError },
): Promise<{ value: T; attempts: number }> {
  for (let attempt = 1; ; attempt++) {
    try {
      return { value: await fn(attempt), attempts: attempt };
    } catch (raw) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      const err = opts.classify(raw);
      if (!err.retryable) throw err;
      if (attempt >= policy.attempts) {
        throw new ModelUnavailableError("transient", `${err.message} (gave up after ${attempt} attempts)`, err.status, { cause: err });
      }
      const delay = retryDelaySec(policy, attempt, err);
      opts.onRetry?.(err, attempt, delay);
      await sleep(delay * 1000, opts.signal);
    }
  }
}

/**
 * Timers for delays of any length. Node's setTimeout keeps at most 2^31 − 1 ms (about 24.8 days): a longer delay
 * fires after 1 ms, with only a TimeoutOverflowWarning to tell. Task timeouts reach that easily (`timeout_sec =
 * 3000000` is 34.7 days, and `--timeout-multiplier` multiplies every one), so timers in src/ go through
 * setLongTimeout (eslint forbids setTimeout elsewhere), which waits in steps of at most that long.
 */

/** The longest delay one Node timer keeps, in ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export interface LongTimeout {
  /** Cancels the timer; after it fired, or a second time, this does nothing. */
  clear(): void;
}

/**
 * Calls `fn` once, `ms` milliseconds from now: a delay above MAX_TIMER_MS is waited out in steps, Infinity never
 * fires, and a negative or NaN delay fires at once (as setTimeout does).
 */
export function setLongTimeout(fn: () => void, ms: number): LongTimeout {
  let timer: NodeJS.Timeout | undefined;
  // Each step waits at least as long as asked (Node timers never fire early), so the total never comes up short.
  const wait = (remaining: number): void => {
    timer = remaining > MAX_TIMER_MS ? setTimeout(() => wait(remaining - MAX_TIMER_MS), MAX_TIMER_MS) : setTimeout(fn, remaining);
  };
  wait(Number.isNaN(ms) ? 0 : Math.max(0, ms));
  return { clear: () => clearTimeout(timer) };
}

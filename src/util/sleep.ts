import { setLongTimeout } from "./timers.js";

/**
 * The one abortable sleep, for any `ms` (also beyond Node's 24.8-day timer limit: timers.ts). Resolves after `ms`;
 * if `signal` aborts first, rejects with the signal's reason at once (the timer is cleared, no listener is left
 * behind). Callers that prefer to wake up quietly on abort write `await sleep(ms, signal).catch(() => undefined)` and
 * check the signal themselves.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setLongTimeout(done, ms);
    function done(): void {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }
    function onAbort(): void {
      timer.clear();
      reject(signal!.reason);
    }
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

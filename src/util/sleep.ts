/**
 * The one abortable sleep. Resolves after `ms`; if `signal` aborts first, rejects with the signal's reason at once
 * (the timer is cleared, no listener is left behind). Callers that prefer to wake up quietly on abort write
 * `await sleep(ms, signal).catch(() => undefined)` and check the signal themselves.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(done, Math.max(0, ms));
    function done(): void {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }
    function onAbort(): void {
      clearTimeout(timer);
      reject(signal!.reason);
    }
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Why a queued job never ran: the pool was closed or its signal aborted before a slot came free. */
export class WorkSkippedError extends Error {
  override name = "WorkSkippedError";
}

interface Queued {
  job: () => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/**
 * The one bounded work pool: at most `concurrency` jobs run at once, jobs may be added at any time (also while others
 * run, e.g. "admit a new rollout whenever a group finishes"), and a closed or aborted pool starts nothing more.
 *
 * - `run(job)` queues a job and settles with the job's own result. A job that never started because the pool was
 *   closed or `signal` aborted first rejects with WorkSkippedError; running jobs are never interrupted by the pool
 *   (give them the same signal to stop them).
 * - `close()` stops admitting and starting work; `idle()` resolves once nothing runs or waits.
 */
export class WorkPool {
  private readonly queue: Queued[] = [];
  private active = 0;
  private closedReason: string | null = null;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly opts: { concurrency: number; signal?: AbortSignal }) {
    if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) throw new RangeError(`concurrency must be a positive integer, got ${opts.concurrency}`);
    opts.signal?.addEventListener("abort", () => this.close("the work was cancelled"), { once: true });
    if (opts.signal?.aborted) this.close("the work was cancelled");
  }

  /** Jobs running now. */
  get running(): number {
    return this.active;
  }

  /** Jobs waiting for a slot. */
  get queued(): number {
    return this.queue.length;
  }

  get closed(): boolean {
    return this.closedReason !== null;
  }

  run<T>(job: () => Promise<T>): Promise<T> {
    if (this.closedReason !== null) return Promise.reject(new WorkSkippedError(this.closedReason));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ job, resolve: resolve as (v: unknown) => void, reject });
      this.pump();
    });
  }

  /** Starts nothing more; queued jobs reject with WorkSkippedError. Running jobs finish normally. */
  close(reason = "the pool was closed"): void {
    if (this.closedReason !== null) return;
    this.closedReason = reason;
    for (const q of this.queue.splice(0)) q.reject(new WorkSkippedError(reason));
    this.checkIdle();
  }

  /** Resolves when no job runs and none waits. */
  idle(): Promise<void> {
    if (this.active === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (this.closedReason === null && this.active < this.opts.concurrency && this.queue.length > 0) {
      const q = this.queue.shift()!;
      this.active++;
      let started: Promise<unknown>;
      try {
        started = q.job();
      } catch (err) {
        started = Promise.reject(err);
      }
      void started.then(q.resolve, q.reject).finally(() => {
        this.active--;
        this.pump();
        this.checkIdle();
      });
    }
  }

  private checkIdle(): void {
    if (this.active !== 0 || this.queue.length !== 0) return;
    for (const w of this.idleWaiters.splice(0)) w();
  }
}

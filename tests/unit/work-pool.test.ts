import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { WorkPool, WorkSkippedError } from "../../src/util/work-pool.js";

/** A job that stays running until released, recording how many jobs ran at once. */
function gate(): { promise: Promise<void>; release: () => void } {
  let release!: () => void;
  const promise = new Promise<void>((r) => (release = r));
  return { promise, release };
}
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe("WorkPool", () => {
  test("runs at most `concurrency` jobs at once, in the order they were added", async () => {
    const pool = new WorkPool({ concurrency: 2 });
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    const gates = Array.from({ length: 5 }, gate);
    const results = gates.map((g, i) =>
      pool.run(async () => {
        started.push(i);
        running++;
        peak = Math.max(peak, running);
        await g.promise;
        running--;
        return i * 10;
      }),
    );
    await tick();
    assert.deepEqual(started, [0, 1]);
    assert.equal(pool.running, 2);
    assert.equal(pool.queued, 3);
    gates[1]!.release();
    await tick();
    assert.deepEqual(started, [0, 1, 2], "a free slot starts the next queued job");
    for (const g of gates) g.release();
    assert.deepEqual(await Promise.all(results), [0, 10, 20, 30, 40]);
    assert.equal(peak, 2);
    assert.equal(pool.running, 0);
  });

  test("accepts work while it runs (a streaming queue): a finishing job can add more", async () => {
    const pool = new WorkPool({ concurrency: 3 });
    const done: string[] = [];
    let inFlight = 0;
    let peak = 0;
    const rollout = async (name: string, depth: number): Promise<void> => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await tick();
      inFlight--;
      done.push(name);
      // "admit more as groups finish"
      if (depth < 2) void pool.run(() => rollout(`${name}.${depth}a`, depth + 1)).catch(() => undefined);
      if (depth < 2) void pool.run(() => rollout(`${name}.${depth}b`, depth + 1)).catch(() => undefined);
    };
    for (const n of ["x", "y"]) void pool.run(() => rollout(n, 0));
    // idle() waits for work added after it was called, too.
    await pool.idle();
    assert.equal(done.length, 2 + 4 + 8);
    assert.ok(peak <= 3, `peak ${peak}`);
    assert.equal(pool.queued, 0);
  });

  test("close() skips queued work with WorkSkippedError and lets running jobs finish", async () => {
    const pool = new WorkPool({ concurrency: 1 });
    const g = gate();
    let finished = false;
    const first = pool.run(async () => {
      await g.promise;
      finished = true;
      return "first";
    });
    const second = pool.run(() => Promise.resolve("second"));
    await tick();
    pool.close("stop");
    await assert.rejects(second, (err: unknown) => err instanceof WorkSkippedError && /stop/.test(err.message));
    await assert.rejects(pool.run(() => Promise.resolve("late")), WorkSkippedError, "a closed pool admits nothing");
    assert.equal(finished, false, "the running job was not interrupted");
    g.release();
    assert.equal(await first, "first");
    assert.equal(pool.closed, true);
  });

  test("an aborted signal closes the pool: queued work is skipped, running work finishes, nothing new starts", async () => {
    const ctl = new AbortController();
    const pool = new WorkPool({ concurrency: 2, signal: ctl.signal });
    const g = gate();
    const started: number[] = [];
    const runs = [0, 1, 2, 3].map((i) =>
      pool.run(async () => {
        started.push(i);
        await g.promise;
        return i;
      }),
    );
    await tick();
    ctl.abort(new Error("cancelled"));
    g.release();
    const settled = await Promise.allSettled(runs);
    assert.deepEqual(
      settled.map((s) => s.status),
      ["fulfilled", "fulfilled", "rejected", "rejected"],
    );
    assert.ok(settled.slice(2).every((s) => s.status === "rejected" && s.reason instanceof WorkSkippedError));
    assert.deepEqual(started, [0, 1]);
    const already = new AbortController();
    already.abort();
    await assert.rejects(new WorkPool({ concurrency: 1, signal: already.signal }).run(() => Promise.resolve(1)), WorkSkippedError);
  });

  test("idle() resolves at once on an empty pool and after the last job otherwise", async () => {
    const pool = new WorkPool({ concurrency: 2 });
    await pool.idle();
    const g = gate();
    let idle = false;
    void pool.run(() => g.promise);
    const waiting = pool.idle().then(() => (idle = true));
    await tick();
    assert.equal(idle, false);
    g.release();
    await waiting;
    assert.equal(idle, true);
  });

  test("a job's error rejects its own promise only; the pool goes on", async () => {
    const pool = new WorkPool({ concurrency: 1 });
    const bad = pool.run(() => Promise.reject(new Error("boom")));
    const sync = pool.run((): Promise<never> => {
      throw new Error("thrown before any await");
    });
    const good = pool.run(() => Promise.resolve("ok"));
    await assert.rejects(bad, /boom/);
    await assert.rejects(sync, /thrown before any await/);
    assert.equal(await good, "ok");
    await pool.idle();
  });

  test("concurrency must be a positive integer", () => {
    assert.throws(() => new WorkPool({ concurrency: 0 }), RangeError);
    assert.throws(() => new WorkPool({ concurrency: 1.5 }), RangeError);
  });
});

import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, test } from "node:test";
import type { TrialResult } from "../../src/harbor/trial-schema.js";
import { jobStats } from "../../src/job/aggregate.js";
import type { TrialRecord } from "../../src/stats/records.js";
import { harborEvalStats, summarize, summarizeTasks } from "../../src/stats/summary.js";
import { isSolved, primaryReward, primaryRewardKey } from "../../src/verifier/reward.js";

// One definition of the primary reward (`reward`, else the first key in sorted order) and of "solved" (primary reward
// ≥ 1), the same in the summary table, the job's result.json and the live progress line.

const rec = (name: string, rewards: Record<string, number> | null): TrialRecord => ({
  trialName: name,
  taskName: name.split("__")[0]!,
  rewards,
  rewardValid: rewards !== null,
  exceptionType: null,
  startedAt: 1,
  finished: true,
  agentName: "a",
  modelName: null,
  source: null,
  nInputTokens: null,
  nCacheTokens: null,
  nOutputTokens: null,
  costUsd: null,
});

describe("the primary reward and success: one definition", () => {
  test("verifier/reward.ts: `reward` wins, else the first key in sorted (not insertion) order", () => {
    assert.equal(primaryRewardKey([{ b: 1, a: 0 }]), "a");
    assert.equal(primaryRewardKey([{ b: 1 }, { reward: 0 }]), "reward");
    assert.equal(primaryRewardKey([null, {}]), "reward");
    assert.equal(primaryReward({ b: 1, a: 0 }), 0);
    assert.equal(primaryReward(null), null);
    assert.equal(isSolved({ b: 1, a: 0 }), false);
    assert.equal(isSolved({ b: 0, a: 1 }), true);
    assert.equal(isSolved({ reward: 0.99 }), false);
    assert.equal(isSolved({ reward: 1 }), true);
    assert.equal(isSolved(null), false);
    assert.equal(isSolved({ a: 1 }, "b"), false, "a missing key is not solved");
  });

  test("summary, per-task successes and pass@k read `a` from {b: 1, a: 0}; Harbor's eval metric has one mean per key", () => {
    const records = [rec("t__1", { b: 1, a: 0 }), rec("t__2", { b: 1, a: 0 })];
    const s = summarize(records);
    assert.equal(s.reward_key, "a");
    assert.equal(s.mean, 0);
    assert.deepEqual(s.pass_at_k, { "2": 0 });
    const [t] = summarizeTasks(records);
    assert.equal(t!.successes, 0);
    assert.deepEqual(harborEvalStats(records).metrics[0], { a: 0, b: 1 });
    assert.deepEqual(jobStats(records, { running: 0, pending: 0, cancelled: 0, retries: 0 }).evals.a__adhoc!.metrics[0], { a: 0, b: 1 });
    const solved = summarizeTasks([rec("t__1", { b: 0, a: 1 }), rec("t__2", { b: 0, a: 0.5 })]);
    assert.equal(solved[0]!.successes, 1, "success = primary reward ≥ 1");
  });

  test("the live progress line: mean so far and the green colour of a finished trial follow the same definition", async () => {
    process.env.FORCE_COLOR = "1";
    delete process.env.NO_COLOR;
    const { JobProgress } = await import("../../src/ui/progress.js");
    let written = "";
    const out = new Writable({
      write(chunk: Buffer, _enc, done) {
        written += chunk.toString();
        done();
      },
    }) as unknown as NodeJS.WriteStream;
    const progress = new JobProgress(3, 0, out, false);
    const result = (name: string, rewards: Record<string, number> | null): TrialResult =>
      ({ trial_name: name, exception_info: null, verifier_result: rewards ? { rewards } : null }) as TrialResult;
    const GREEN = "\x1b[32m";

    progress.trialEnded(result("t__1", { b: 1, a: 0 }), false);
    assert.ok(written.includes("reward b=1 a=0"), written);
    assert.ok(!written.includes(GREEN), "not solved: primary reward a = 0");
    assert.match(progress.statusLine(), /mean 0\.000/);

    written = "";
    progress.trialEnded(result("t__2", { b: 0, a: 1 }), false);
    assert.ok(written.includes(GREEN), "solved: primary reward a = 1");
    assert.match(progress.statusLine(), /mean 0\.500/);

    written = "";
    progress.trialEnded(result("t__3", { reward: 1, a: 0 }), false);
    assert.ok(written.includes(GREEN) && written.includes("reward 1 a=0"), written);
    assert.match(progress.statusLine(), /mean 0\.667/);
  });
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { solveStats } from "../../src/datagen/solve.js";
import { tierFor } from "../../src/datagen/tiers.js";
import { balance } from "../../src/datagen/analyze.js";
import type { TrialRecord } from "../../src/stats/records.js";

test("difficulty tiers by the spec's thresholds (first match wins)", () => {
  assert.equal(tierFor(0.39), "frontier");
  assert.equal(tierFor(0.4), "advanced");
  assert.equal(tierFor(0.59), "advanced");
  assert.equal(tierFor(0.6), "core");
  assert.equal(tierFor(0.79), "core");
  assert.equal(tierFor(0.8), "easy");
  assert.equal(tierFor(1), "easy");
  // two models: frontier needs both below 0.40; advanced_plus when only one is
  assert.equal(tierFor(0.3, 0.35), "frontier");
  assert.equal(tierFor(0.3, 0.9), "advanced_plus");
  assert.equal(tierFor(0.9, 0.5), "advanced");
  assert.equal(tierFor(0.85, 0.7), "core");
});

let n = 0;
const rec = (task: string, reward: number | null, exceptionType: string | null = null): TrialRecord => ({
  trialName: `${task}__${++n}`,
  taskName: task,
  rewards: reward === null ? null : { reward },
  rewardValid: reward !== null,
  exceptionType,
  startedAt: n,
  finished: true,
  agentName: "tmax",
  modelName: "m",
  source: null,
  nInputTokens: null,
  nCacheTokens: null,
  nOutputTokens: null,
  costUsd: null,
});

test("solve stats: reward > 0 is a success, any exception counts as a failure, pass@k for k = 1..n", () => {
  const s = solveStats([rec("a", 1), rec("a", 0.5), rec("a", 0), rec("a", 1, "AgentTimeoutError"), rec("b", null), rec("b", 0)]);
  const a = s.get("a")!;
  assert.equal(a.attempts, 4);
  assert.equal(a.successes, 2);
  assert.equal(a.accuracy, 0.5);
  assert.deepEqual(Object.keys(a.pass_at_k), ["1", "2", "3", "4"]);
  assert.equal(a.pass_at_k["1"], 0.5);
  assert.ok(Math.abs(a.pass_at_k["2"]! - (1 - 1 / 6)) < 1e-12);
  assert.equal(a.pass_at_k["3"], 1);
  assert.equal(s.get("b")!.accuracy, 0);
});

test("balance exp(H)/N: 1 when uniform, lower when skewed", () => {
  assert.equal(balance([5, 5, 5, 5]), 1);
  assert.ok(Math.abs(balance([10, 0])! - 0.5) < 1e-12);
  assert.ok(balance([90, 5, 5])! < 0.6);
  assert.equal(balance([]), null);
});

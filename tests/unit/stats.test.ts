import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { evalKey, type TrialRecord } from "../../src/stats/records.js";
import { harborEvalStats, passAtKFor, runStats, summarize, summarizeTasks } from "../../src/stats/summary.js";
import { trialSummarySchema } from "../../src/harbor/lenient.js";
import { trialRecordFromSummary } from "../../src/stats/records.js";
import { harborJsonText } from "../../src/harbor/json-text.js";

/** The lenient reader of a trial result.json, as job listings and resume use it. */
const trialRecordFromJson = (data: unknown, fallbackName: string): TrialRecord => trialRecordFromSummary(trialSummarySchema.parse(data), fallbackName);

let seq = 0;
function rec(task: string, reward: number | null, opts: Partial<TrialRecord> & { t?: number } = {}): TrialRecord {
  seq++;
  return {
    trialName: opts.trialName ?? `${task}__${String(seq).padStart(7, "0")}`,
    taskName: task,
    rewards: reward === null ? null : { reward },
    rewardValid: reward !== null,
    exceptionType: opts.exceptionType ?? null,
    startedAt: opts.t ?? seq,
    finished: opts.finished ?? true,
    agentName: "tmax",
    modelName: "openai/m",
    source: "ds",
    nInputTokens: null,
    nCacheTokens: null,
    nOutputTokens: null,
    costUsd: null,
    ...opts,
  };
}
const close = (a: number, b: number, msg = ""): void => assert.ok(Math.abs(a - b) < 1e-12, `${a} != ${b} ${msg}`);

describe("summary statistics", () => {
  test("mean counts missing rewards as 0", () => {
    const s = summarize([rec("a", 1), rec("a", null, { exceptionType: "AgentTimeoutError" }), rec("b", 0), rec("b", 1)]);
    assert.equal(s.n_trials, 4);
    assert.equal(s.n_tasks, 2);
    assert.equal(s.n_rewarded, 3);
    assert.equal(s.n_errored, 1);
    close(s.mean, 0.5);
    assert.deepEqual(s.errors, { AgentTimeoutError: 1 });
  });

  test("runs: i-th attempt of each task by started_at, population std, SEM = std/sqrt(R)", () => {
    // task a: attempts at t=1 (1), t=3 (0); task b: t=2 (1), t=4 (1); task c: t=5 (0), t=0 (0)
    const records = [
      rec("a", 0, { t: 3 }),
      rec("a", 1, { t: 1 }),
      rec("b", 1, { t: 4 }),
      rec("b", 1, { t: 2 }),
      rec("c", 1, { t: 5 }),
      rec("c", 0, { t: 0 }),
    ];
    const r = runStats(records);
    // run 0 = a:1, b:1, c:0 -> 2/3; run 1 = a:0, b:1, c:1 -> 2/3
    assert.deepEqual(r.runs.map((x) => x.toFixed(6)), ["0.666667", "0.666667"]);
    close(r.std, 0);
    const r2 = runStats([rec("a", 1, { t: 1 }), rec("a", 0, { t: 2 }), rec("b", 1, { t: 1 }), rec("b", 0, { t: 2 })]);
    assert.deepEqual(r2.runs, [1, 0]);
    close(r2.mean, 0.5);
    close(r2.std, 0.5, );
    close(r2.sem, 0.5 / Math.SQRT2);
  });

  test("ties in started_at are broken by trial name; unknown times sort last", () => {
    const records = [
      rec("a", 0, { t: 5, trialName: "a__zzz" }),
      rec("a", 1, { t: 5, trialName: "a__aaa" }),
      rec("a", 0, { t: NaN, trialName: "a__000" }),
    ];
    assert.deepEqual(runStats(records).runs, [1, 0, 0]);
  });

  test("unequal attempt counts: run i covers the tasks that have an i-th attempt", () => {
    const r = runStats([rec("a", 1, { t: 1 }), rec("a", 1, { t: 2 }), rec("b", 0, { t: 1 })]);
    assert.deepEqual(r.runs, [0.5, 1]);
  });

  test("unfinished trials are excluded and counted", () => {
    const s = summarize([rec("a", 1), rec("a", null, { finished: false })]);
    assert.equal(s.n_trials, 1);
    assert.equal(s.n_unfinished, 1);
    close(s.mean, 1);
  });

  test("pass@k follows Harbor: binary single-key rewards only, missing = failure", () => {
    const rs = [rec("a", 1), rec("a", 0), rec("b", null), rec("b", 0)];
    assert.deepEqual(Object.keys(passAtKFor(rs)), ["2"]);
    close(passAtKFor(rs)["2"]!, 0.5);
    assert.deepEqual(passAtKFor([rec("a", 0.5), rec("a", 1)]), {}, "non-binary -> {}");
    const multi = { ...rec("a", 1), rewards: { reward: 1, extra: 1 } };
    assert.deepEqual(passAtKFor([multi, rec("a", 1)]), {}, "several keys -> {}");
    // tmax's summary still shows pass@k on the binary primary key
    assert.deepEqual(Object.keys(summarize([multi, rec("a", 1)]).pass_at_k), ["2"]);
  });

  test("several reward keys: primary is 'reward', per-key means count missing as 0", () => {
    const a = { ...rec("a", 1), rewards: { reward: 1, accuracy: 0.5 } };
    const b = rec("b", 0);
    const s = summarize([a, b]);
    assert.equal(s.reward_key, "reward");
    close(s.reward_means.accuracy!, 0.25);
    assert.deepEqual(s.reward_reported.accuracy, { n: 1, mean: 0.5 });
    const onlyOther = summarize([{ ...rec("a", 0), rewards: { score: 0.8 } }]);
    assert.equal(onlyOther.reward_key, "score");
    close(onlyOther.mean, 0.8);
  });

  test("Harbor ≥ 0.26's mean beside it: over the trials with a valid reward only, per key when there are several", () => {
    const voided = { ...rec("b", 1, { exceptionType: "ApiError" }), rewardValid: false };
    const s = summarize([rec("a", 1), rec("a", null, { exceptionType: "RewardFileNotFoundError" }), rec("b", 0), voided]);
    close(s.mean, 0.5, "the headline counts the missing reward 0 and keeps the voided one's 1");
    assert.deepEqual(s.valid_rewards, { n_trials: 2, mean: 0.5, reward_means: {} });
    const none = summarize([rec("a", null)]);
    assert.deepEqual(none.valid_rewards, { n_trials: 0, mean: null, reward_means: {} });
    const multi = summarize([{ ...rec("a", 1), rewards: { reward: 1, accuracy: 0.5 } }, rec("b", 0), { ...voided, rewards: { reward: 1, accuracy: 1 } }]);
    assert.equal(multi.valid_rewards.n_trials, 2);
    close(multi.valid_rewards.reward_means.accuracy!, 0.25, "a valid trial without the key counts 0 for it");
    close(multi.valid_rewards.reward_means.reward!, 0.5);
  });

  test("per-task figures", () => {
    const t = summarizeTasks([rec("a", 1), rec("a", 0), rec("b", 0, { exceptionType: "X" }), rec("b", 0)]);
    assert.deepEqual(
      t.map((x) => [x.task, x.attempts, x.successes, x.mean, x.errors]),
      [
        ["a", 2, 1, 0.5, {}],
        ["b", 2, 0, 0, { X: 1 }],
      ],
    );
    close(t[0]!.pass_at_k["2"]!, 1);
  });
});

describe("Harbor job statistics", () => {
  test("eval key drops the model provider; adhoc when there is no dataset", () => {
    assert.equal(evalKey({ agentName: "vanillux2-agent", modelName: "openai/swerl-step200", source: "terminal-bench" }), "vanillux2-agent__swerl-step200__terminal-bench");
    assert.equal(evalKey({ agentName: "oracle", modelName: null, source: null }), "oracle__adhoc");
  });

  test("AgentDatasetStats: n_trials counts rewarded trials, reward_stats keys are Python floats", () => {
    const rs = [rec("a", 1, { trialName: "a__1" }), rec("a", null, { trialName: "a__2", exceptionType: "AgentTimeoutError" }), rec("b", 0, { trialName: "b__1" })];
    const s = harborEvalStats(rs);
    assert.equal(s.n_trials, 2);
    assert.equal(s.n_errors, 1);
    close(s.metrics[0]!.mean!, 1 / 3);
    assert.deepEqual(s.reward_stats, { reward: { "1.0": ["a__1"], "0.0": ["b__1"] } });
    assert.deepEqual(s.exception_stats, { AgentTimeoutError: ["a__2"] });
    assert.deepEqual(Object.keys(s.pass_at_k), []);
  });

  test("the eval metric is Harbor's: {mean} for one reward key, else one mean per reward name (missing = 0)", () => {
    const rs = [rec("a", null, { trialName: "a__1", rewards: { reward: 1, has_shebang: 1 } }), rec("a", null, { trialName: "a__2", rewards: { reward: 0 } }), rec("b", null, { trialName: "b__1" })];
    const s = harborEvalStats(rs);
    assert.deepEqual(Object.keys(s.metrics[0]!), ["has_shebang", "reward"]);
    close(s.metrics[0]!.has_shebang!, 1 / 3);
    close(s.metrics[0]!.reward!, 1 / 3);
  });

  test("Harbor documents are written with Harbor's floats: 1.0 where its models say float, user data as given", () => {
    const text = harborJsonText({
      timeout_multiplier: 1,
      agent: { override_timeout_sec: 30, kwargs: { max_steps: 3, timeout_multiplier: 2 }, env: {} },
      retry: { max_retries: 2, min_wait_sec: 1, max_wait_sec: 60.5 },
      verifier_result: { rewards: { reward: 1, frac: 0.25 } },
      stats: { n_trials: 2, evals: { e: { metrics: [{ mean: 1 }], pass_at_k: { "2": 1 } } } },
      cost_usd: null,
      missing: undefined,
    });
    assert.deepEqual(JSON.parse(text), JSON.parse(JSON.stringify({ timeout_multiplier: 1, agent: { override_timeout_sec: 30, kwargs: { max_steps: 3, timeout_multiplier: 2 }, env: {} }, retry: { max_retries: 2, min_wait_sec: 1, max_wait_sec: 60.5 }, verifier_result: { rewards: { reward: 1, frac: 0.25 } }, stats: { n_trials: 2, evals: { e: { metrics: [{ mean: 1 }], pass_at_k: { "2": 1 } } } }, cost_usd: null })));
    for (const s of ['"timeout_multiplier": 1.0', '"override_timeout_sec": 30.0', '"max_steps": 3,', '"timeout_multiplier": 2\n', '"max_retries": 2,', '"min_wait_sec": 1.0', '"max_wait_sec": 60.5', '"reward": 1.0', '"frac": 0.25', '"mean": 1.0', '"2": 1.0', '"n_trials": 2,']) {
      assert.ok(text.includes(s.replace("\\n", "\n")), `${s} in\n${text}`);
    }
    assert.ok(!text.includes("missing"));
  });

  test("lenient reader takes Harbor 0.6.6-shaped results with extra and missing keys", () => {
    const harbor = {
      id: "x",
      task_name: "fix-git",
      trial_name: "fix-git__4Sn43cZ",
      source: "terminal-bench",
      agent_info: { name: "vanillux2-agent", version: "0.1.0", model_info: { name: "swerl-step200", provider: "openai" } },
      agent_result: { n_input_tokens: 100, n_output_tokens: 5, cost_usd: null, rollout_details: null, some_new_field: 1 },
      verifier_result: { rewards: { reward: 1.0 } },
      exception_info: null,
      started_at: "2025-11-20T10:00:00.123456Z",
      finished_at: "2025-11-20T10:10:00.000000Z",
      config: { agent: { name: "vanillux2-agent", model_name: "openai/swerl-step200" }, environment: { mounts_json: null, suppress_override_warnings: false } },
    };
    const r = trialRecordFromJson(harbor, "dir");
    assert.equal(r.taskName, "fix-git");
    assert.deepEqual(r.rewards, { reward: 1 });
    assert.equal(r.agentName, "vanillux2-agent");
    assert.equal(evalKey(r), "vanillux2-agent__swerl-step200__terminal-bench");
    assert.equal(r.nInputTokens, 100);
    assert.equal(r.startedAt, Date.parse("2025-11-20T10:00:00.123Z") + 0.456);
    const sparse = trialRecordFromJson({ trial_name: "t__abc", finished_at: "2025-01-01T00:00:00", exception_info: { exception_type: "CancelledError" } }, "d");
    assert.equal(sparse.taskName, "t");
    assert.equal(sparse.rewards, null);
    assert.equal(sparse.exceptionType, "CancelledError");
  });
});

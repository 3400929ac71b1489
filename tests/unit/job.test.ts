import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { Agent, AgentRunContext } from "../../src/agent/agent.js";
import { initialJobResult, isFinalRecord, jobStats } from "../../src/job/aggregate.js";
import { buildJobConfig } from "../../src/job/config.js";
import { runJob } from "../../src/job/job.js";
import { discardInterrupted, readJobConfig, readPreviousResult, readResumeState } from "../../src/job/resume.js";
import { jobResultSchema, type JobResult } from "../../src/job/schema.js";
import { trialResultSchema, type TrialResult } from "../../src/harbor/trial-schema.js";
import type { TrialRecord } from "../../src/stats/records.js";
import { discoverTasks } from "../../src/task/dataset.js";
import { sleep } from "../../src/util/sleep.js";
import { FileFormatError } from "../../src/util/json-file.js";
import { fakeProvider } from "../helpers/fake-provider.js";
import { runOptions } from "../helpers/run-options.js";
import { tempDir, writeTask } from "../helpers/task-fixture.js";

let seq = 0;
function rec(over: Partial<TrialRecord> = {}): TrialRecord {
  seq++;
  return {
    trialName: `t__${String(seq).padStart(7, "0")}`,
    taskName: "t",
    rewards: { reward: 1 },
    rewardValid: over.rewards !== null,
    exceptionType: null,
    startedAt: seq,
    finished: true,
    agentName: "oracle",
    modelName: null,
    source: "ds",
    nInputTokens: null,
    nCacheTokens: null,
    nOutputTokens: null,
    costUsd: null,
    ...over,
  };
}

describe("job aggregation (pure)", () => {
  test("records + counters → Harbor's stats block, in Harbor's field order", () => {
    const a = rec({ trialName: "a__1", taskName: "a", rewards: { reward: 1 }, nInputTokens: 10, nOutputTokens: 2 });
    const b = rec({ trialName: "a__2", taskName: "a", rewards: { reward: 0 }, nInputTokens: 5 });
    const c = rec({ trialName: "b__1", taskName: "b", rewards: null, exceptionType: "AgentTimeoutError" });
    const other = rec({ trialName: "c__1", taskName: "c", agentName: "tmax", modelName: "openai/m" });
    const stats = jobStats([a, b, c, other], { running: 2, pending: 3, cancelled: 1, retries: 4 });
    assert.deepEqual(Object.keys(stats), [
      "n_completed_trials",
      "n_errored_trials",
      "n_running_trials",
      "n_pending_trials",
      "n_cancelled_trials",
      "n_retries",
      "evals",
      "n_input_tokens",
      "n_cache_tokens",
      "n_output_tokens",
      "cost_usd",
    ]);
    assert.equal(stats.n_completed_trials, 4);
    assert.equal(stats.n_errored_trials, 1);
    assert.deepEqual([stats.n_running_trials, stats.n_pending_trials, stats.n_cancelled_trials, stats.n_retries], [2, 3, 1, 4]);
    assert.deepEqual(Object.keys(stats.evals), ["oracle__ds", "tmax__m__ds"]);
    const oracle = stats.evals.oracle__ds!;
    assert.equal(oracle.n_trials, 2, "trials with a reward");
    assert.equal(oracle.n_errors, 1);
    assert.deepEqual(oracle.metrics, [{ mean: 1 / 3 }]);
    assert.deepEqual(oracle.reward_stats, { reward: { "1.0": ["a__1"], "0.0": ["a__2"] } }, "trial names in record order");
    assert.deepEqual(oracle.exception_stats, { AgentTimeoutError: ["b__1"] });
    assert.equal(stats.n_input_tokens, 15);
    assert.equal(stats.n_cache_tokens, null, "no trial reported it");
    assert.equal(stats.n_output_tokens, 2);
    assert.equal(stats.cost_usd, null);
    assert.ok(jobResultSchema.shape.stats.safeParse(stats).success);
  });

  test("an empty job, and the start of a resumed one", () => {
    const empty = jobStats([], { running: 0, pending: 0, cancelled: 0, retries: 0 });
    assert.deepEqual(empty.evals, {});
    assert.equal(empty.n_input_tokens, null);
    const fresh = initialJobResult({ previous: null, id: "new", startedAt: "S", now: "N", nTotalTrials: 6 });
    assert.deepEqual([fresh.id, fresh.started_at, fresh.updated_at, fresh.finished_at, fresh.n_total_trials], ["new", "S", "N", null, 6]);
    const resumed = initialJobResult({ previous: { ...fresh, id: "old", started_at: "OLD", stats: { ...fresh.stats, n_retries: 3 } }, id: "new", startedAt: "S", now: "N", nTotalTrials: 6 });
    assert.deepEqual([resumed.id, resumed.started_at, resumed.stats.n_retries], ["old", "OLD", 3]);
    assert.equal(isFinalRecord(rec()), true);
    assert.equal(isFinalRecord(rec({ finished: false })), false);
    assert.equal(isFinalRecord(rec({ exceptionType: "CancelledError" })), false);
  });
});

/** A trial result.json the way tmax writes it. */
function tmaxTrial(task: string, id: string, opts: { finished?: boolean; exception?: string | null; reward?: number | null } = {}): TrialResult {
  const name = `${task}__${id}`;
  const config = buildJobConfig(runOptions());
  const result: TrialResult = {
    id: `uuid-${id}`,
    task_name: task,
    trial_name: name,
    trial_uri: `file:///jobs/j/${name}`,
    task_id: { path: `/data/ds/${task}` },
    source: "ds",
    task_checksum: "c".repeat(64),
    config: {
      task: { path: `/data/ds/${task}`, git_url: null, git_commit_id: null, name: null, ref: null, overwrite: false, download_dir: null, source: "ds" },
      trial_name: name,
      trials_dir: "/jobs/j",
      timeout_multiplier: 1,
      agent_timeout_multiplier: null,
      verifier_timeout_multiplier: null,
      agent_setup_timeout_multiplier: null,
      environment_build_timeout_multiplier: null,
      agent: config.agents[0]!,
      environment: config.environment,
      verifier: config.verifier,
      artifacts: [],
      job_id: "job-id",
    },
    agent_info: { name: "oracle", version: "1.0.0", model_info: null },
    agent_result: null,
    verifier_result: opts.reward === null ? null : { rewards: { reward: opts.reward ?? 1 } },
    exception_info: opts.exception
      ? { exception_type: opts.exception, exception_message: "m", exception_traceback: "tb", occurred_at: "2026-01-01T00:00:00.000000Z" }
      : null,
    started_at: "2026-01-01T00:00:00.000000Z",
    finished_at: opts.finished === false ? null : "2026-01-01T00:01:00.000000Z",
    environment_setup: null,
    agent_setup: null,
    agent_execution: null,
    verifier: null,
    step_results: null,
  };
  assert.ok(trialResultSchema.safeParse(result).success);
  return result;
}

function writeTrial(jobDir: string, name: string, content: string | object): void {
  mkdirSync(join(jobDir, name, "agent"), { recursive: true });
  writeFileSync(join(jobDir, name, "result.json"), typeof content === "string" ? content : JSON.stringify(content, null, 4));
}

function jobResult(over: Partial<JobResult> = {}): JobResult {
  return { ...initialJobResult({ previous: null, id: "job-id", startedAt: "2026-01-01T00:00:00.000000", now: "2026-01-01T00:00:00.000000", nTotalTrials: 4 }), ...over };
}

describe("resume: reading an existing job directory", () => {
  test("finished trials are kept; unfinished, cancelled and unreadable ones, and dirs without result.json, are discarded (as Harbor does)", async () => {
    const job = tempDir("tmax-resume-");
    writeFileSync(join(job, "result.json"), JSON.stringify(jobResult({ stats: { ...jobResult().stats, n_retries: 2 } })));
    writeTrial(job, "a__done001", tmaxTrial("a", "done001"));
    writeTrial(job, "a__error01", tmaxTrial("a", "error01", { exception: "AgentTimeoutError" }));
    writeTrial(job, "b__running", tmaxTrial("b", "running", { finished: false }));
    writeTrial(job, "b__cancel1", tmaxTrial("b", "cancel1", { exception: "CancelledError", reward: null }));
    writeTrial(job, "c__garbled", "{ not json");
    writeTrial(job, "c__badtype", { trial_name: 42 });
    mkdirSync(join(job, "not-a-trial"));
    const state = await readResumeState(job);
    assert.equal(state.previous?.id, "job-id");
    assert.equal(state.previous?.stats.n_retries, 2);
    assert.deepEqual([...state.finished.keys()], ["a__done001", "a__error01"]);
    assert.equal(state.finished.get("a__error01")!.exceptionType, "AgentTimeoutError", "a finished error is final");
    assert.deepEqual(state.interrupted, ["b__cancel1", "b__running", "c__badtype", "c__garbled", "not-a-trial"]);
    const filtered = await readResumeState(job, ["AgentTimeoutError"]);
    assert.deepEqual([...filtered.finished.keys()], ["a__done001"], "--filter-error-type re-runs finished trials of that type");
    assert.ok(filtered.interrupted.includes("a__error01"));
    const before = readFileSync(join(job, "a__done001", "result.json"), "utf8");
    await discardInterrupted(job, state.interrupted);
    assert.deepEqual(readdirSync(job).sort(), ["a__done001", "a__error01", "result.json"]);
    assert.equal(readFileSync(join(job, "a__done001", "result.json"), "utf8"), before, "kept byte for byte");
  });

  test("the previous result.json is validated with the job result schema: a wrong type names the file and the field", () => {
    const job = tempDir("tmax-resume-");
    assert.equal(readPreviousResult(job), null, "no result.json yet");
    const bad = JSON.parse(JSON.stringify(jobResult())) as Record<string, unknown> & { stats: Record<string, unknown> };
    bad.stats.n_retries = "two";
    writeFileSync(join(job, "result.json"), JSON.stringify(bad));
    assert.throws(
      () => readPreviousResult(job),
      (err: unknown) =>
        err instanceof FileFormatError && err.file === join(job, "result.json") && err.field === "stats.n_retries" && /result\.json: stats\.n_retries: /.test(err.message),
    );
    writeFileSync(join(job, "result.json"), "{");
    assert.throws(() => readPreviousResult(job), /result\.json: not valid JSON/);
  });

  test("readJobConfig: a job's config.json with tmax's schema, errors naming file and field", () => {
    const job = tempDir("tmax-resume-");
    assert.throws(() => readJobConfig(job), /is not a job directory \(no config\.json\)/);
    const config = buildJobConfig(runOptions());
    writeFileSync(join(job, "config.json"), JSON.stringify(config));
    assert.deepEqual(readJobConfig(job), config);
    writeFileSync(join(job, "config.json"), JSON.stringify({ ...config, n_attempts: "3" }));
    assert.throws(() => readJobConfig(job), /config\.json: n_attempts: /);
  });
});

// ---- runJob on a fake container provider: the orchestration without podman ----

/** An agent whose run is `body`, counting how many run at once. */
function fakeAgent(body: (task: string, ctx: AgentRunContext) => Promise<void>, meter: { running: number; peak: number }): Agent {
  return {
    name: "fake-agent",
    version: "1",
    modelInfo: null,
    setup: () => Promise.resolve(),
    run: async (_instruction, _env, ctx) => {
      meter.running++;
      meter.peak = Math.max(meter.peak, meter.running);
      try {
        await body(ctx.task.name, ctx);
      } finally {
        meter.running--;
      }
    },
  };
}

async function dataset(names: string[]): Promise<{ ds: string; tasks: Awaited<ReturnType<typeof discoverTasks>> }> {
  const ds = tempDir("tmax-ds-");
  for (const n of names) writeTask(ds, n);
  return { ds, tasks: await discoverTasks(ds) };
}

describe("runJob on the work pool (fake provider)", () => {
  test("bounded concurrency, retries with back-off, Harbor's job layout", async () => {
    const { ds, tasks } = await dataset(["p-one", "p-two", "p-three", "p-flaky"]);
    const jobDir = join(tempDir("tmax-jobs-"), "j");
    const base = buildJobConfig(runOptions({ path: ds, nAttempts: 2, nConcurrent: 3, maxRetries: 1 }));
    const config = { ...base, retry: { ...base.retry, wait_multiplier: 0.01, min_wait_sec: 0.01, max_wait_sec: 0.05 } };
    const meter = { running: 0, peak: 0 };
    let flakyFailures = 0;
    const ends: { name: string; willRetry: boolean }[] = [];
    const outcome = await runJob({
      jobDir,
      config,
      tasks: tasks.tasks,
      source: tasks.source,
      provider: fakeProvider({ rewardFor: (t) => (t === "p-two" ? 0 : 1) }),
      makeAgent: () =>
        fakeAgent(async (task) => {
          await sleep(20);
          if (task === "p-flaky" && flakyFailures++ === 0) throw new Error("flaky infrastructure");
        }, meter),
      signal: new AbortController().signal,
      invocation: ["tmax", "test"],
      hooks: { onTrialEnd: (r, { willRetry }) => ends.push({ name: r.trial_name, willRetry }) },
    });
    assert.equal(outcome.cancelled, false);
    assert.equal(outcome.records.length, 8);
    assert.ok(meter.peak <= 3 && meter.peak >= 2, `peak concurrency ${meter.peak}`);
    assert.equal(ends.filter((e) => e.willRetry).length, 1, "the flaky trial was retried once");
    const result = jobResultSchema.strict().parse(JSON.parse(readFileSync(join(jobDir, "result.json"), "utf8")));
    assert.ok(result.finished_at);
    assert.equal(result.n_total_trials, 8);
    assert.equal(result.stats.n_completed_trials, 8);
    assert.equal(result.stats.n_retries, 1);
    assert.equal(result.stats.n_pending_trials, 0);
    assert.equal(result.stats.n_running_trials, 0);
    assert.deepEqual(Object.keys(result.stats.evals), ["fake-agent__" + tasks.source]);
    assert.deepEqual(result.stats.evals[`fake-agent__${tasks.source}`]!.metrics, [{ mean: 6 / 8 }]);
    const trialDirs = readdirSync(jobDir, { withFileTypes: true }).filter((e) => e.isDirectory());
    assert.equal(trialDirs.length, 8, "the failed attempt's directory was removed before the retry");
    for (const f of ["config.json", "lock.json", "job.log"]) assert.ok(readdirSync(jobDir).includes(f), f);
    assert.match(readFileSync(join(jobDir, "job.log"), "utf8"), /failed with RuntimeError; retrying in 0\.01 s \(retry 1 of 1\)/);
  });

  test("cancelling stops admitting trials and records running ones as CancelledError; resume keeps finished trials byte for byte", async () => {
    const { ds, tasks } = await dataset(["c-fast", "c-slow-1", "c-slow-2", "c-slow-3"]);
    const jobDir = join(tempDir("tmax-jobs-"), "j");
    const config = buildJobConfig(runOptions({ path: ds, nAttempts: 1, nConcurrent: 2 }));
    const ctl = new AbortController();
    const meter = { running: 0, peak: 0 };
    let slowRunning = 0;
    const first = await runJob({
      jobDir,
      config,
      tasks: tasks.tasks,
      source: tasks.source,
      provider: fakeProvider(),
      makeAgent: () =>
        fakeAgent(async (task, ctx) => {
          if (task === "c-fast") return;
          // Ctrl-C once both slots hold a slow trial (the fast one has finished, one slow task is still queued).
          if (++slowRunning === 2) setTimeout(() => ctl.abort(), 20);
          await sleep(60_000, ctx.signal);
        }, meter),
      signal: ctl.signal,
      invocation: ["tmax", "test"],
    });
    assert.equal(first.cancelled, true);
    const interrupted = jobResultSchema.parse(JSON.parse(readFileSync(join(jobDir, "result.json"), "utf8")));
    assert.equal(interrupted.finished_at, null);
    assert.equal(interrupted.stats.n_completed_trials, 1);
    assert.equal(interrupted.stats.n_cancelled_trials, 2, "the two running slow trials");
    assert.equal(interrupted.stats.n_pending_trials, 1, "the queued trial never started");
    assert.equal(interrupted.stats.n_running_trials, 0);
    const kept = first.records.map((r) => r.trialName);
    assert.deepEqual(kept.map((n) => n.split("__")[0]), ["c-fast"]);
    const keptText = readFileSync(join(jobDir, kept[0]!, "result.json"), "utf8");

    let plan: { total: number; finished: number; discarded: number } | null = null;
    const second = await runJob({
      jobDir,
      config,
      tasks: tasks.tasks,
      source: tasks.source,
      provider: fakeProvider(),
      makeAgent: () => fakeAgent(() => Promise.resolve(), meter),
      signal: new AbortController().signal,
      invocation: ["tmax", "test"],
      resume: true,
      hooks: { onPlan: (p) => (plan = p) },
    });
    assert.deepEqual(plan, { total: 4, finished: 1, discarded: 2 });
    assert.equal(second.cancelled, false);
    assert.equal(second.records.length, 4);
    assert.equal(readFileSync(join(jobDir, kept[0]!, "result.json"), "utf8"), keptText);
    const final = jobResultSchema.parse(JSON.parse(readFileSync(join(jobDir, "result.json"), "utf8")));
    assert.equal(final.id, interrupted.id, "the job keeps its id");
    assert.equal(final.started_at, interrupted.started_at);
    assert.ok(final.finished_at);
    assert.equal(final.stats.n_completed_trials, 4);
    assert.equal(readdirSync(jobDir, { withFileTypes: true }).filter((e) => e.isDirectory()).length, 4);
  });
});

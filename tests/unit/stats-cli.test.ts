import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/task-fixture.js";

/** A trial result.json the way Harbor 0.6.6 wrote them (extra keys such as mounts_json; job-level config nesting). */
function harborTrial(task: string, id: string, startedAt: string, reward: number | null, exception: string | null): object {
  return {
    id: `uuid-${id}`,
    task_name: task,
    trial_name: `${task}__${id}`,
    trial_uri: `file:///jobs/j/${task}__${id}`,
    task_id: { git_url: "https://github.com/laude-institute/terminal-bench-2.git", git_commit_id: "69671fba", path: task },
    source: "terminal-bench",
    task_checksum: "abc",
    config: {
      task: { path: task, git_url: null, git_commit_id: null, overwrite: false, download_dir: null, source: "terminal-bench" },
      trial_name: `${task}__${id}`,
      trials_dir: "/jobs/j",
      timeout_multiplier: 1.0,
      agent: { name: "vanillux2-agent", import_path: "x:y", model_name: "openai/tmax-9b", override_timeout_sec: null, kwargs: { max_format_errors: 64 } },
      environment: { type: "daytona", force_build: false, delete: true, override_cpus: null, suppress_override_warnings: false, mounts_json: null, kwargs: {} },
      verifier: { override_timeout_sec: null, max_timeout_sec: null, disable: false },
      job_id: "job-uuid",
    },
    agent_info: { name: "vanillux2-agent", version: "0.1.0", model_info: { name: "tmax-9b", provider: "openai" } },
    agent_result: { n_input_tokens: 1000, n_cache_tokens: 0, n_output_tokens: 100, cost_usd: null, rollout_details: null, metadata: null },
    verifier_result: reward === null ? null : { rewards: { reward } },
    exception_info: exception
      ? { exception_type: exception, exception_message: "m", exception_traceback: "tb", occurred_at: "2025-11-20T10:00:00" }
      : null,
    started_at: startedAt,
    finished_at: "2025-11-20T12:00:00.000000Z",
    environment_setup: null,
    agent_setup: null,
    agent_execution: null,
    verifier: null,
  };
}

test("tmax stats reads a Harbor-written job: missing rewards count 0, runs ordered by started_at", async () => {
  const job = tempDir("harbor-job-");
  writeFileSync(join(job, "config.json"), JSON.stringify({ job_name: "j", orchestrator: { n_concurrent_trials: 16, retry: { max_retries: 0 } } }));
  const trials = [
    // task a: the later-named trial started first
    harborTrial("a", "zzzzzzz", "2025-11-20T10:00:00.000001Z", 1, null),
    harborTrial("a", "aaaaaaa", "2025-11-20T10:05:00.000000Z", 0, null),
    // task b: an agent timeout that was verified, and a trial with no reward and no exception
    harborTrial("b", "bbbbbbb", "2025-11-20T10:01:00.000000Z", 1, "AgentTimeoutError"),
    harborTrial("b", "ccccccc", "2025-11-20T10:02:00.000000Z", null, null),
    // task c: a cancelled trial without reward
    harborTrial("c", "ddddddd", "2025-11-20T10:00:30.000000Z", null, "CancelledError"),
    harborTrial("c", "eeeeeee", "2025-11-20T10:00:40.000000Z", 1, null),
  ];
  for (const t of trials as { trial_name: string }[]) {
    mkdirSync(join(job, t.trial_name));
    writeFileSync(join(job, t.trial_name, "result.json"), JSON.stringify(t, null, 4));
  }
  const r = await runCli(["stats", job, "--json", "--per-task"]);
  assert.equal(r.code, 0, r.stderr);
  const [s] = JSON.parse(r.stdout);
  assert.equal(s.n_trials, 6);
  assert.equal(s.n_tasks, 3);
  assert.equal(s.mean, 0.5);
  // run 0 = a:zzz(1), b:bbb(1), c:ddd(0) -> 2/3 ; run 1 = a:aaa(0), b:ccc(0), c:eee(1) -> 1/3
  assert.deepEqual(s.runs.map((x: number) => x.toFixed(4)), ["0.6667", "0.3333"]);
  assert.ok(Math.abs(s.std - 1 / 6) < 1e-12, `std ${s.std}`);
  assert.ok(Math.abs(s.sem - 1 / 6 / Math.SQRT2) < 1e-12);
  assert.deepEqual(s.pass_at_k, { "2": 1 });
  assert.deepEqual(s.errors, { AgentTimeoutError: 1, CancelledError: 1 });
  assert.deepEqual(s.tokens, { input: 6000, cache: 0, output: 600, cost_usd: null });
  assert.deepEqual(s.per_task.map((t: { task: string; successes: number }) => [t.task, t.successes]), [["a", 1], ["b", 1], ["c", 1]]);

  const table = await runCli(["stats", job]);
  assert.match(table.stdout, /Mean reward\s*│\s*0\.500/);
  assert.match(table.stdout, /0\.500 ± 0\.118 \(± = SEM; population std 0\.167\)/);
});

test("tmax stats on a directory that is not a job fails clearly", async () => {
  const r = await runCli(["stats", tempDir("not-a-job-")]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /not a job directory/);
});

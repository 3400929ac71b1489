import assert from "node:assert/strict";
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { after, before, describe, test } from "node:test";
import { REPO, runCli, type CliResult } from "../helpers/cli.js";
import { harborCheck, harborImage, type HarborResume, type HarborValidation } from "../helpers/harbor.js";
import { startScriptedModel, type ScriptedModel } from "../helpers/scripted-model.js";
import { tempDir } from "../helpers/task-fixture.js";

/**
 * The Harbor round trip, checked with Harbor's own code (a pinned `harbor` in a Python 3.13 container; see
 * tests/helpers/harbor.ts): every file of a tmax job validates with Harbor's pydantic models and reads back with the
 * same values, Harbor's viewer scanner lists every trial, `harbor jobs resume` accepts the job, and no secret given
 * on the command line reaches any file.
 */

const EXAMPLES = join(REPO, "examples", "tasks");

/** Secrets passed on the command line; none may appear in any file of the job. */
const SECRETS = {
  ve: "hf_verifier_secret_0001",
  ae: "ghp_agentenv_secret_0002",
  apiKey: "sk-apikey-secret-0003",
  ak: "sk-kwarg-secret-0004",
  host: "host_value_secret_0005",
};

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

/** Every file of the job holding any of the secrets, with which. */
function leaks(jobDir: string): string[] {
  const found: string[] = [];
  for (const file of filesUnder(jobDir)) {
    const text = readFileSync(file, "latin1");
    for (const [name, secret] of Object.entries(SECRETS)) if (text.includes(secret)) found.push(`${relative(jobDir, file)}: ${name}`);
  }
  return found;
}

function json<T>(path: string): T {
  return JSON.parse(readFileSync(path, "utf8")) as T;
}

function assertHarborReads(v: HarborValidation, jobName: string, nTrials: number): void {
  const rejected = Object.entries(v.files).filter(([, e]) => e !== null);
  assert.deepEqual(rejected, [], "every file validates with Harbor's models");
  assert.deepEqual(v.diffs, {}, "Harbor reads back the values tmax wrote (floats as floats, timestamps, masked secrets)");
  assert.ok(v.scanner.jobs.includes(jobName));
  assert.ok(v.scanner.config && v.scanner.result, "the viewer reads the job's config and result");
  assert.equal(v.scanner.trials.length, nTrials, "the viewer lists every trial");
  assert.deepEqual(v.scanner.unreadable_trials, []);
}

before(() => {
  harborImage(); // built once per Harbor version (minutes), then reused
});

describe("an oracle job, read by Harbor", () => {
  let work: string;
  let jobDir: string;
  let run: CliResult;
  const env = { OPENAI_API_KEY: "", HOST_TOKEN: SECRETS.host };

  before(async () => {
    work = tempDir("tmax-harbor-");
    // A relative -o, as Harbor users run it: trials_dir is then relative too (jobs/<job>).
    run = await runCli(
      [
        "run", "-p", EXAMPLES, "-i", "hello-world", "-i", "multi-metric", "-a", "oracle", "-k", "2", "-n", "2", "-o", "jobs", "--job-name", "oj",
        "--ve", `HF_TOKEN=${SECRETS.ve}`, "--ae", `GH_TOKEN=${SECRETS.ae}`, "--api-key", SECRETS.apiKey, "--ak", `api_key=${SECRETS.ak}`,
        "--ae", `HOST_TOKEN=${SECRETS.host}`,
      ],
      { cwd: work, env },
    );
    jobDir = join(work, "jobs", "oj");
  });

  test("the job ran", () => {
    assert.equal(run.code, 0, run.stderr);
  });

  test("every file validates with Harbor's models, reads back unchanged, and Harbor's viewer lists every trial", () => {
    assertHarborReads(harborCheck<HarborValidation>("validate", [jobDir], [work, EXAMPLES]), "oj", 4);
  });

  test("no secret reaches any file; they are masked as Harbor masks them", () => {
    assert.deepEqual(leaks(jobDir), []);
    const config = json<{ agents: { env: Record<string, string>; kwargs: Record<string, unknown> }[]; verifier: { env: Record<string, string> } }>(join(jobDir, "config.json"));
    assert.deepEqual(config.verifier.env, { HF_TOKEN: "hf_v****001" });
    assert.deepEqual(config.agents[0]!.env, { GH_TOKEN: "ghp_****002", OPENAI_API_KEY: "sk-a****003", HOST_TOKEN: "${HOST_TOKEN}" });
    assert.equal(config.agents[0]!.kwargs.api_key, "sk-k****004");
    const lock = json<{ invocation: string[] }>(join(jobDir, "lock.json"));
    assert.ok(lock.invocation.includes("HF_TOKEN=hf_v****001") && lock.invocation.includes("sk-a****003"), lock.invocation.join(" "));
  });

  test("Harbor's numbers and formats: floats, UTC lock time, relative trials_dir, metrics by reward name, Harbor's digest", () => {
    const lock = json<{ created_at: string; schema_version: number; trials: { task: { digest: string } }[] }>(join(jobDir, "lock.json"));
    assert.match(lock.created_at, /Z$/);
    assert.equal(lock.schema_version, 3);
    const trial = readdirSync(jobDir).find((n) => n.startsWith("multi-metric__"))!;
    assert.equal(json<{ trials_dir: string }>(join(jobDir, trial, "config.json")).trials_dir, "jobs/oj");
    const text = readFileSync(join(jobDir, trial, "result.json"), "utf8");
    assert.match(text, /"timeout_multiplier": 1\.0/);
    assert.match(text, /"reward": 1\.0/);
    const result = json<{ stats: { evals: Record<string, { metrics: Record<string, number>[] }> } }>(join(jobDir, "result.json"));
    assert.deepEqual(result.stats.evals.oracle__tasks!.metrics, [{ correct_fraction: 0.5, has_shebang: 0.5, reward: 1 }]);
  });

  test("`harbor jobs resume` accepts the job: every trial matches Harbor's plan and lock.json matches Harbor's lock", () => {
    const copy = tempDir("tmax-harbor-resume-");
    cpSync(work, copy, { recursive: true });
    const r = harborCheck<HarborResume>("resume", [join(copy, "jobs", "oj")], [copy, EXAMPLES], { HOST_TOKEN: SECRETS.host });
    assert.ok(r.ok, r.error ?? "");
    assert.equal(r.existing, 4);
    assert.equal(r.remaining, 0);
  });

  test("tmax --resume keeps the original invocation, deletes trial dirs without result.json, and stays Harbor-readable", async () => {
    const copy = tempDir("tmax-harbor-resume-");
    cpSync(work, copy, { recursive: true });
    const dir = join(copy, "jobs", "oj");
    const before = json<{ invocation: string[]; created_at: string }>(join(dir, "lock.json"));
    const hello = readdirSync(dir).find((n) => n.startsWith("hello-world__"))!;
    rmSync(join(dir, hello, "result.json"));
    mkdirSync(join(dir, "stray__0000000"));
    const again = ["--ve", `HF_TOKEN=${SECRETS.ve}`, "--ae", `GH_TOKEN=${SECRETS.ae}`, "--api-key", SECRETS.apiKey, "--ak", `api_key=${SECRETS.ak}`];
    const r = await runCli(["run", "--resume", dir, ...again], { cwd: copy, env });
    assert.equal(r.code, 0, r.stderr);
    const names = readdirSync(dir).filter((n) => statSync(join(dir, n)).isDirectory());
    assert.ok(!names.includes(hello) && !names.includes("stray__0000000"), names.join(", "));
    assert.equal(names.length, 4, "the trial without result.json ran again");
    const afterLock = json<{ invocation: string[]; created_at: string }>(join(dir, "lock.json"));
    assert.deepEqual(afterLock.invocation, before.invocation, "the original invocation is kept");
    assert.equal(afterLock.created_at, before.created_at);
    assert.deepEqual(leaks(dir), []);
    assertHarborReads(harborCheck<HarborValidation>("validate", [dir], [copy, EXAMPLES]), "oj", 4);
  });

  test("a masked secret not given again on resume is a usage error naming it", async () => {
    const copy = tempDir("tmax-harbor-resume-");
    cpSync(work, copy, { recursive: true });
    const given = ["--ae", `GH_TOKEN=${SECRETS.ae}`, "--api-key", SECRETS.apiKey, "--ak", `api_key=${SECRETS.ak}`];
    const r = await runCli(["run", "--resume", join(copy, "jobs", "oj"), ...given], { cwd: copy, env });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /HF_TOKEN is masked .*--ve HF_TOKEN=/);
  });
});

describe("tmax resumes a job Harbor configured", () => {
  test("a Harbor config.json with 2 agents, a task and a dataset: tmax plans and runs all of them; Harbor accepts the result", async () => {
    const work = tempDir("tmax-harbor-config-");
    const jobDir = join(work, "jobs", "hj");
    harborCheck("write-config", [jobDir, JSON.stringify({ agents: ["oracle", "nop"], tasks: [join(EXAMPLES, "hello-world")], datasets: [{ path: EXAMPLES, task_names: ["multi-metric"] }] })], [work, EXAMPLES]);
    const r = await runCli(["run", "--resume", jobDir, "--json"], { cwd: work });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).n_trials, 4, "2 tasks × 2 agents");
    const results = readdirSync(jobDir)
      .filter((n) => statSync(join(jobDir, n)).isDirectory())
      .map((n) => json<{ task_name: string; source: string | null; agent_info: { name: string } }>(join(jobDir, n, "result.json")));
    assert.deepEqual(results.map((x) => `${x.agent_info.name}:${x.task_name}:${x.source}`).sort(), ["nop:hello-world:null", "nop:multi-metric:tasks", "oracle:hello-world:null", "oracle:multi-metric:tasks"]);
    assertHarborReads(harborCheck<HarborValidation>("validate", [jobDir], [work, EXAMPLES]), "hj", 4);
    const resumed = harborCheck<HarborResume>("resume", [jobDir], [work, EXAMPLES]);
    assert.ok(resumed.ok, resumed.error ?? "");
    assert.deepEqual([resumed.existing, resumed.remaining], [4, 0]);
  });

  test("-f/--filter-error-type re-runs finished trials of that type", async () => {
    const work = tempDir("tmax-harbor-filter-");
    const r = await runCli(["run", "-p", join(EXAMPLES, "slow-solution"), "-a", "oracle", "-o", join(work, "jobs"), "--job-name", "f"]);
    assert.equal(r.code, 0, r.stderr);
    const jobDir = join(work, "jobs", "f");
    const first = readdirSync(jobDir).filter((n) => n.startsWith("slow-solution__"));
    const kept = await runCli(["run", "--resume", jobDir]);
    assert.equal(kept.code, 0, kept.stderr);
    assert.deepEqual(readdirSync(jobDir).filter((n) => n.startsWith("slow-solution__")), first, "an AgentTimeoutError trial is finished");
    const rerun = await runCli(["run", "--resume", jobDir, "-f", "AgentTimeoutError"]);
    assert.equal(rerun.code, 0, rerun.stderr);
    const second = readdirSync(jobDir).filter((n) => n.startsWith("slow-solution__"));
    assert.equal(second.length, 1);
    assert.notDeepEqual(second, first, "it ran again");
  });
});

describe("a tmax-agent job, read by Harbor", () => {
  let server: ScriptedModel;
  let work: string;
  let run: CliResult;

  before(async () => {
    server = await startScriptedModel([{ kind: "call", command: "ls / && echo hi > /tmp/out.txt", reasoning: "look around" }]);
    work = tempDir("tmax-harbor-agent-");
    run = await runCli(
      ["run", "-p", join(EXAMPLES, "hello-world"), "-a", "tmax", "-m", "scripted-model", "--base-url", server.url, "--api-key", SECRETS.apiKey,
        "--ak", "collect_rollout_details=true", "-o", join(work, "jobs"), "--job-name", "aj", "-k", "2"],
      { env: { OPENAI_API_KEY: "" } },
    );
  });
  after(() => server?.close());

  test("every file, agent/trajectory.json (ATIF) included, validates with Harbor's models; the chat messages are kept", () => {
    assert.equal(run.code, 0, run.stderr);
    const jobDir = join(work, "jobs", "aj");
    const v = harborCheck<HarborValidation>("validate", [jobDir], [work, EXAMPLES]);
    assertHarborReads(v, "aj", 2);
    const trajectories = Object.keys(v.files).filter((f) => f.endsWith("agent/trajectory.json"));
    assert.equal(trajectories.length, 2, "each trial's ATIF trajectory was validated");
    for (const t of trajectories) {
      const messages = json<{ role: string }[]>(join(jobDir, t.replace("trajectory.json", "chat-messages.json")));
      assert.deepEqual(messages.map((m) => m.role).slice(0, 3), ["system", "user", "assistant"]);
    }
    assert.deepEqual(leaks(jobDir), []);
  });

  test("tmax export sft reads the new layout: the exact chat messages", async () => {
    const out = join(work, "sft.jsonl");
    const r = await runCli(["export", "sft", join(work, "jobs", "aj"), "-o", out, "--min-reward", "0"]);
    assert.equal(r.code, 0, r.stderr);
    const lines = readFileSync(out, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { metadata: { format: string; source: string } });
    assert.equal(lines.length, 2);
    for (const l of lines) {
      assert.equal(l.metadata.format, "tmax");
      assert.match(l.metadata.source, /agent\/chat-messages\.json$/);
    }
  });
});

describe("tmax stats on a job Harbor wrote, against Harbor's own figures", () => {
  interface HarborEvals {
    n_trials: number;
    metrics: Record<string, number>[];
    pass_at_k?: Record<string, number>;
    exception_stats: Record<string, string[]>;
  }
  test("Harbor ≥ 0.26's mean (valid rewards only), the headline mean (missing = 0), errors and pass@k", async () => {
    const work = tempDir("tmax-harbor-stats-");
    const at = (i: number): string => `2025-11-20T10:0${i}:00+00:00`;
    // Two attempts of three tasks: a timed-out agent's reward counts for Harbor; an ApiError voids a reward that is
    // there; an unknown exception type keeps its reward; a missing reward file leaves none.
    const trials = [
      { task: "a", trial: "a__0000001", rewards: { reward: 1 }, started_at: at(0) },
      { task: "a", trial: "a__0000002", rewards: { reward: 0 }, exception: "AgentTimeoutError", started_at: at(1) },
      { task: "b", trial: "b__0000001", rewards: { reward: 1 }, exception: "ApiError", started_at: at(2) },
      { task: "b", trial: "b__0000002", rewards: null, exception: "RewardFileNotFoundError", started_at: at(3) },
      { task: "c", trial: "c__0000001", rewards: { reward: 1 }, started_at: at(4) },
      { task: "c", trial: "c__0000002", rewards: { reward: 1 }, exception: "SomethingNewError", started_at: at(5) },
    ];
    const written = harborCheck<{ job_dir: string; stats: { evals: Record<string, HarborEvals> } }>("write-job", [work, JSON.stringify({ job_name: "hj", trials })], [work]);
    const evals = Object.values(written.stats.evals);
    assert.equal(evals.length, 1);
    const harbor = evals[0]!;
    const r = await runCli(["stats", "--json", written.job_dir]);
    assert.equal(r.code, 0, r.stderr);
    const [s] = JSON.parse(r.stdout) as { mean: number; n_trials: number; n_errored: number; errors: Record<string, number>; pass_at_k: Record<string, number>; valid_rewards: { n_trials: number; mean: number } }[];
    assert.equal(s!.valid_rewards.mean, harbor.metrics[0]!.mean, "Harbor's job mean");
    assert.equal(s!.valid_rewards.mean, 0.75);
    assert.equal(s!.valid_rewards.n_trials, 4);
    assert.equal(s!.mean, 4 / 6, "tmax's headline: all 6 trials, the missing reward 0, the voided one's 1 kept");
    assert.equal(s!.n_trials, 6);
    assert.deepEqual(s!.errors, Object.fromEntries(Object.entries(harbor.exception_stats).map(([type, names]) => [type, names.length])));
    assert.equal(s!.n_errored, 4);
    assert.deepEqual(s!.pass_at_k, harbor.pass_at_k ?? {}, "pass@k as Harbor computes it");
    const table = await runCli(["stats", written.job_dir]);
    assert.match(table.stdout, /Harbor ≥ 0\.26 mean\s*│?\s*0\.750\s+\(over the 4 trials with a valid reward; the rest left out\)/);
  });
});

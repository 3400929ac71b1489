import assert from "node:assert/strict";
import { readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { Hono } from "hono";
import { TrialIndex } from "../../src/store/trial-index.js";
import type { CompareResponse, CorpusResponse, JobResponse, RolloutResponse, RolloutsResponse, JobsResponse, RunResponse, TrajectoryResponse, TrialResponse } from "../../src/view/api-types.js";
import { apiRoutes } from "../../src/view/api.js";
import { Catalog } from "../../src/view/catalog.js";
import { binEdgeLabel, durationBins, shortDuration } from "../../src/view/phase-durations.js";
import { PathMissing, PathRefused, ViewRoots } from "../../src/view/roots.js";
import { INSTRUCTION, SECRET, STEP_NAMES, STEP_STDOUT, writeViewFixture, type ViewFixture } from "../helpers/view-fixture.js";

// The viewer's JSON API on real job directories: one written by tmax's runner, one in Harbor's layout, a training run.

let f: ViewFixture;
let app: Hono;

before(async () => {
  f = await writeViewFixture();
  app = new Hono().route("/api", apiRoutes(new Catalog([f.root])));
});

async function get<T>(path: string): Promise<{ status: number; body: T; type: string | null }> {
  const res = await app.request(`http://127.0.0.1${path}`);
  const type = res.headers.get("content-type");
  const body = (type?.startsWith("application/json") ? await res.json() : await res.text()) as T;
  return { status: res.status, body, type };
}

const TMAX_JOB = "0/tmax/tmax-job";
const STEPS_JOB = "0/tmax/tmax-steps-job";
const HARBOR_JOB = "0/harbor/harbor-job";

async function trialNames(job: string): Promise<string[]> {
  return (await get<JobResponse>(`/api/job/${job}`)).body.trials.map((t) => t.name);
}

describe("tmax view API: the jobs list", () => {
  test("finds tmax's and Harbor's jobs recursively, and the training run, but not trials or folders of jobs", async () => {
    const { status, body } = await get<JobsResponse>("/api/jobs");
    assert.equal(status, 200);
    assert.deepEqual(body.jobs.map((j) => j.path).sort(), [HARBOR_JOB, TMAX_JOB, STEPS_JOB]);
    assert.deepEqual(body.runs.map((r) => r.path), ["0/runs/rl-run"]);
    assert.equal(body.runs[0]!.steps, 3);
    assert.deepEqual(body.corpora, [{ path: "0/corpora/gen-1", name: "gen-1", accepted: 2, rejected: 1 }]);
  });

  test("each job's figures: trials, tasks, agent, model, mean ± SEM, pass@k, errors, tokens", async () => {
    const jobs = new Map((await get<JobsResponse>("/api/jobs")).body.jobs.map((j) => [j.path, j]));
    const tmax = jobs.get(TMAX_JOB)!;
    assert.deepEqual([tmax.trials, tmax.tasks, tmax.agent, tmax.model], [4, 2, "tmax", "tmax-9b"]);
    assert.equal(tmax.reward.mean, 0.5);
    assert.equal(tmax.reward.runs, 2);
    assert.equal(tmax.passAtK["2"], 0.5);
    assert.equal(tmax.tokens.input, 4 * 721);
    const harbor = jobs.get(HARBOR_JOB)!;
    assert.deepEqual([harbor.agent, harbor.model, harbor.dataset, harbor.trials], ["terminus-2", "gpt-5", "terminal-bench", 3]);
    assert.deepEqual(harbor.errors, { AgentTimeoutError: 1 });
    assert.deepEqual(harbor.validRewards, { trials: 2, mean: 0.5 }, "Harbor ≥ 0.26 leaves the trial without a reward out");
    assert.deepEqual(tmax.validRewards, { trials: 4, mean: 0.5 });
    assert.equal(harbor.durationSec, 30 * 60);
    assert.equal(harbor.tokens.costUsd, 1.5);
  });
});

describe("tmax view API: a job", () => {
  test("the per-task table: attempts, successes, mean, pass@k and the trials of each task", async () => {
    const { body } = await get<JobResponse>(`/api/job/${TMAX_JOB}`);
    const tasks = new Map(body.tasks.map((t) => [t.task, t]));
    assert.deepEqual([tasks.get("alpha")!.attempts, tasks.get("alpha")!.successes, tasks.get("alpha")!.mean], [2, 2, 1]);
    assert.deepEqual([tasks.get("beta")!.successes, tasks.get("beta")!.passAtK["2"]], [0, 0]);
    assert.equal(tasks.get("alpha")!.trials.length, 2);
    assert.ok(tasks.get("alpha")!.trials.every((t) => t.startsWith("alpha__")));
    assert.equal(body.trials.length, 4);
    assert.ok(body.trials.every((t) => t.seconds.total !== null && t.seconds.agent_execution !== null));
    assert.equal(body.charts[0]!.title, "Rewards");
    assert.ok(body.charts.every((c) => c.svg.startsWith("<svg")));
  });

  test("the duration distribution of each phase: trials that ran it, quartiles, histogram bins, one chart each", async () => {
    const { body } = await get<JobResponse>(`/api/job/${HARBOR_JOB}`);
    const phases = new Map(body.phaseDurations.map((d) => [d.phase, d]));
    assert.deepEqual([...phases.keys()], ["environment_setup", "agent_execution", "verifier", "total"]);
    // Every Harbor trial: 1 min of environment setup, 18 min of agent, 1 min of verifier (not for the timed-out one).
    assert.deepEqual([phases.get("environment_setup")!.trials, phases.get("agent_execution")!.trials, phases.get("verifier")!.trials], [3, 3, 2]);
    assert.deepEqual(phases.get("agent_execution")!.stats, { min: 1080, q1: 1080, median: 1080, q3: 1080, max: 1080 });
    assert.deepEqual(phases.get("agent_execution")!.bins, [{ from: 900, to: 1200, count: 3 }]);
    assert.deepEqual(phases.get("verifier")!.bins.map((b) => b.count), [2]);
    const charts = body.charts.slice(1);
    assert.deepEqual(charts.map((c) => c.title.split(" · ")[0]), ["Environment setup", "Agent", "Verifier", "Whole trial"]);
    assert.match(charts[1]!.title, /3 trials · median 18 min/);
    assert.match(charts[1]!.svg, /<title>15 min to 20 min: 3 trials<\/title>/);
  });

  test("duration bins: nice edges from below the shortest to past the longest, every trial in one bin", () => {
    assert.deepEqual(durationBins([5, 12, 18, 40, 41, 95]), [
      { from: 0, to: 20, count: 3 },
      { from: 20, to: 40, count: 0 },
      { from: 40, to: 60, count: 2 },
      { from: 60, to: 80, count: 0 },
      { from: 80, to: 100, count: 1 },
    ]);
    assert.deepEqual(durationBins([60, 60, 60]), [{ from: 60, to: 70, count: 3 }]);
    assert.deepEqual(durationBins([0.003, 0.003]), [{ from: 0.003, to: 0.0035, count: 2 }], "equal sub-second durations: one bin at them, not at 0");
    assert.deepEqual(durationBins([]), []);
    // The first edge rounds to 0.036000000000000004, above the shortest value: it still counts in the first bin, and a
    // value on an edge (0.048) in the bin that edge opens.
    assert.deepEqual(durationBins([0.049, 0.041, 0.048, 0.036]).map((b) => [b.from, b.count]), [[0.036, 1], [0.038, 0], [0.04, 1], [0.042, 0], [0.044, 0], [0.046, 0], [0.048, 2]]);
    const many = Array.from({ length: 500 }, (_, i) => 30 + (i * 7919) % 900);
    const bins = durationBins(many);
    assert.equal(bins.reduce((n, b) => n + b.count, 0), 500);
    assert.ok(bins.length >= 5 && bins.length <= 12, `${bins.length} bins`);
    assert.ok(bins[0]!.from <= 30 && bins.at(-1)!.to > Math.max(...many));
    // Bins of a minute or more are whole minutes, so their edges read exactly.
    assert.ok(bins.every((b) => (b.to - b.from) % 60 === 0), JSON.stringify(bins[0]));
  });

  test("bin edges read in the largest unit the bin width is whole in; durations in the unit that suits them", () => {
    assert.deepEqual([binEdgeLabel(0.05, 0.01), binEdgeLabel(40, 20), binEdgeLabel(720, 120), binEdgeLabel(7200, 3600), binEdgeLabel(90, 30)], ["50 ms", "40 s", "12 min", "2 h", "90 s"]);
    assert.deepEqual([shortDuration(0.0123), shortDuration(45), shortDuration(1080), shortDuration(9000)], ["12.3 ms", "45 s", "18 min", "2.5 h"]);
  });

  test("errors grouped by type with their messages and trials", async () => {
    const { body } = await get<JobResponse>(`/api/job/${HARBOR_JOB}`);
    assert.deepEqual(body.errors, [{ type: "AgentTimeoutError", count: 1, messages: [{ message: "agent ran out of time after 900 s", count: 1, trials: ["alpha__ccccccc"] }] }]);
    const failed = body.trials.find((t) => t.name === "alpha__ccccccc")!;
    assert.deepEqual([failed.reward, failed.exceptionType, failed.seconds.verifier], [null, "AgentTimeoutError", null]);
  });

  test("a job given itself as the directory to view (README: `tmax view jobs/<job>`) is job 0, its trials under it", async () => {
    const single = new Hono().route("/api", apiRoutes(new Catalog([f.harborJob])));
    const json = async <T>(path: string): Promise<T> => (await single.request(`http://127.0.0.1${path}`)).json() as Promise<T>;
    assert.deepEqual((await json<JobsResponse>("/api/jobs")).jobs.map((j) => [j.path, j.name]), [["0", "harbor-job"]]);
    const job = await json<JobResponse>("/api/job/0");
    assert.equal(job.trials.length, 3);
    assert.equal((await json<TrialResponse>(`/api/trial/0/${job.trials[0]!.name}`)).jobPath, "0");
  });

  test("a directory that is not a job is a 404", async () => {
    assert.equal((await get(`/api/job/0/runs`)).status, 404);
  });

  test("the listing reads result.json files only: a malformed trajectory does not disturb it", async () => {
    const trial = join(f.harborJob, "fix-git__bbbbbbb", "agent", "trajectory.json");
    const before = readFileSync(trial, "utf8");
    writeFileSync(trial, "{ not json");
    try {
      assert.equal((await get(`/api/job/${HARBOR_JOB}`)).status, 200);
      assert.equal((await get(`/api/jobs`)).status, 200);
      assert.equal((await get(`/api/trajectory/${HARBOR_JOB}/fix-git__bbbbbbb`)).status, 422);
    } finally {
      writeFileSync(trial, before);
    }
  });
});

describe("tmax view API: compare", () => {
  test("per task side by side, flipped tasks marked, the difference in mean with its standard error", async () => {
    const { status, body } = await get<CompareResponse>(`/api/compare?job=${TMAX_JOB}&job=${HARBOR_JOB}`);
    assert.equal(status, 200);
    const tasks = new Map(body.tasks.map((t) => [t.task, t]));
    assert.deepEqual([...tasks.keys()], ["alpha", "beta", "fix-git"]);
    // alpha: solved 2/2 by tmax, never by the Harbor job (its one trial has no reward).
    assert.deepEqual(tasks.get("alpha")!.cells, [{ mean: 1, attempts: 2 }, { mean: 0, attempts: 1 }]);
    assert.equal(tasks.get("alpha")!.flipped, true);
    assert.deepEqual(tasks.get("beta")!.cells, [{ mean: 0, attempts: 2 }, null]);
    assert.equal(tasks.get("beta")!.flipped, false);
    assert.deepEqual(body.differences, [{ path: HARBOR_JOB, commonTasks: 1, diff: -1, se: 0 }]);
  });

  test("one job is not a comparison", async () => {
    assert.equal((await get(`/api/compare?job=${TMAX_JOB}`)).status, 403);
  });
});

describe("tmax view API: a trial and its trajectory", () => {
  test("a tmax trial: rewards, timings, verifier output, instruction, files, neighbours", async () => {
    const names = await trialNames(TMAX_JOB);
    const { status, body } = await get<TrialResponse>(`/api/trial/${TMAX_JOB}/${names[1]}`);
    assert.equal(status, 200);
    assert.deepEqual(body.rewards, { reward: 1 });
    assert.equal(body.rewardFile, "reward.txt");
    assert.equal(body.verifierStdout, "1 passed\n");
    assert.equal(body.instruction, INSTRUCTION);
    assert.equal(body.exception, null);
    assert.ok(body.timings?.agent_execution?.seconds !== undefined);
    assert.ok(body.files.some((x) => x.path === "agent/trajectory.json" && x.type === "file"));
    assert.ok(body.files.some((x) => x.path === "result.json"));
    assert.deepEqual([body.previous, body.next], [names[0], names[2]]);
    assert.equal(body.jobPath, TMAX_JOB);
    assert.equal(body.hasTrajectory, true);
  });

  test("a multi-step trial: each step with its rewards, verifier outcome, durations and verifier output; the job's tables as for any trial", async () => {
    const job = (await get<JobResponse>(`/api/job/${STEPS_JOB}`)).body;
    assert.deepEqual(job.tasks.map((t) => [t.task, t.attempts, t.mean]), [["staged", 1, 0.5]], "the per-task table: the trial's reward (the mean over its steps)");
    const [name] = job.trials.map((t) => t.name);
    const { status, body } = await get<TrialResponse>(`/api/trial/${STEPS_JOB}/${name}`);
    assert.equal(status, 200);
    assert.deepEqual(body.rewards, { reward: 0.5 }, "from result.json: the trial has no verifier/ of its own");
    const steps = body.steps!;
    assert.deepEqual(
      steps.map((s) => [s.name, s.dir, s.rewards, s.rewardFile, s.verification, s.exception?.type ?? null, s.verifierStdout]),
      [
        ["01-prepare", "steps/01-prepare", { reward: 1 }, "reward.txt", "rewarded", null, STEP_STDOUT("01-prepare")],
        ["02-build", "steps/02-build", { reward: 0 }, "reward.txt", "rewarded", null, STEP_STDOUT("02-build")],
        ["03-check", "steps/03-check", null, null, "failed", "RewardFileNotFoundError", STEP_STDOUT("03-check")],
      ],
    );
    assert.deepEqual(steps.map((s) => s.name), STEP_NAMES);
    assert.ok(steps.every((s) => typeof s.agentSeconds === "number" && typeof s.verifierSeconds === "number"), JSON.stringify(steps));
    // Each step's verifier output is a raw file of the trial too.
    const raw = await get<string>(`/api/file/${STEPS_JOB}/${name}/steps/02-build/verifier/test-stdout.txt`);
    assert.deepEqual([raw.status, raw.body], [200, STEP_STDOUT("02-build")]);
    // A single-step trial has no steps.
    const single = await get<TrialResponse>(`/api/trial/${TMAX_JOB}/${(await trialNames(TMAX_JOB))[0]}`);
    assert.equal(single.body.steps, null);
  });

  test("a step's name in result.json is data, never a path: one that is not a single directory name has no files", async () => {
    const [name] = await trialNames(STEPS_JOB);
    const file = join(f.stepsJob, name!, "result.json");
    const original = readFileSync(file, "utf8");
    const result = JSON.parse(original) as { step_results: { step_name: string }[] };
    // From steps/: four levels up is the root, where the Harbor job has a trial with a verifier output of its own.
    result.step_results[0]!.step_name = "../../../../harbor/harbor-job/fix-git__aaaaaaa";
    result.step_results[1]!.step_name = "..";
    writeFileSync(file, JSON.stringify(result));
    try {
      const { body } = await get<TrialResponse>(`/api/trial/${STEPS_JOB}/${name}`);
      assert.deepEqual(body.steps!.map((s) => [s.dir, s.verifierStdout, s.rewardFile]).slice(0, 2), [[null, null, null], [null, null, null]]);
      assert.deepEqual(body.steps![0]!.rewards, { reward: 1 }, "what result.json recorded is still shown");
    } finally {
      writeFileSync(file, original);
    }
  });

  test("a failed Harbor trial: the exception with its traceback, no reward", async () => {
    const { body } = await get<TrialResponse>(`/api/trial/${HARBOR_JOB}/alpha__ccccccc`);
    assert.equal(body.exception?.type, "AgentTimeoutError");
    assert.match(body.exception?.traceback ?? "", /Traceback/);
    assert.equal(body.rewards, null);
    assert.deepEqual([body.previous, body.next], [null, "fix-git__aaaaaaa"]);
  });

  test("tmax's trajectory step by step: reasoning, commands, observations, exit codes, tokens, seconds", async () => {
    const names = await trialNames(TMAX_JOB);
    const { body } = await get<TrajectoryResponse>(`/api/trajectory/${TMAX_JOB}/${names[0]}`);
    assert.equal(body.format, "atif");
    assert.equal(body.file, "agent/trajectory.json");
    assert.deepEqual(body.steps.map((s) => s.source), ["system", "user", "agent", "agent"]);
    const [, , first, second] = body.steps;
    assert.equal(first!.reasoning, "The file has to exist, so touch it.");
    assert.deepEqual(first!.calls.map((c) => [c.command, c.exitCode]), [["touch /app/done", 0]]);
    assert.deepEqual([first!.promptTokens, first!.completionTokens, first!.llmSec, first!.bashSec], [321, 45, 1.5, 0.2]);
    assert.equal(second!.calls[0]!.exitCode, 2);
    assert.ok(second!.calls[0]!.observation!.length > 5000);
    assert.equal(body.totals.promptTokens, 721);
  });

  test("a Harbor agent's ATIF trajectory (terminus-2)", async () => {
    const { body } = await get<TrajectoryResponse>(`/api/trajectory/${HARBOR_JOB}/fix-git__aaaaaaa`);
    assert.equal(body.agent, "terminus-2");
    assert.equal(body.steps.filter((s) => s.source === "agent").length, 2);
    assert.equal(body.steps[2]!.llmSec, null);
  });
});

describe("tmax view API: a training run and raw files", () => {
  test("metrics.jsonl rows, the curves and the steps with rollouts; a line being written is left out", async () => {
    const file = join(f.run, "metrics.jsonl");
    const full = readFileSync(file, "utf8");
    writeFileSync(file, full + '{"step": 4, "rew');
    try {
      const { body } = await get<RunResponse>(`/api/run/0/runs/rl-run`);
      assert.deepEqual(body.metrics.map((m) => m.step), [1, 2, 3]);
      assert.equal(body.charts.length, 6);
      assert.deepEqual(body.rolloutSteps, [2]);
      writeFileSync(file, full + '{"step": 4, "reward_mean": 0.9}\n');
      assert.deepEqual((await get<RunResponse>(`/api/run/0/runs/rl-run`)).body.metrics.map((m) => m.step), [1, 2, 3, 4]);
      assert.equal((await get(`/api/run/0/runs`)).status, 404);
    } finally {
      writeFileSync(file, full);
    }
  });

  test("a step's rollouts, and one rollout token by token: text, loss mask and logprob", async () => {
    const step = "0/runs/rl-run/rollouts/step_2";
    const list = await get<RolloutsResponse>(`/api/rollouts/${step}`);
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.rollouts.map((r) => [r.index, r.task, r.sample, r.reward, r.ending, r.responseTokens, r.trainedTokens]), [
      [0, "alpha", 0, 1, "submitted", 5, 4],
      [1, "alpha", 1, 0, "max_steps", 5, 4],
    ]);
    const { body } = await get<RolloutResponse>(`/api/rollout/${step}?i=0`);
    assert.equal(body.decoded, true);
    assert.equal(body.prompt, "the prompt of alpha");
    assert.deepEqual(body.tokens.map((t) => [t.text, t.mask, t.logprob]), [["Hello", 1, -1.5], [" world", 1, -2], ["\n", 0, 0], ["Hello", 1, -0.5], [" world", 1, -3]]);
    assert.equal((await get(`/api/rollout/${step}?i=7`)).status, 404);
    assert.equal((await get(`/api/rollouts/0/runs/rl-run`)).status, 404);
  });

  test("a file's raw content, as plain text whatever it holds", async () => {
    const names = await trialNames(TMAX_JOB);
    const { status, body, type } = await get<string>(`/api/file/${TMAX_JOB}/${names[0]}/verifier/test-stdout.txt`);
    assert.equal(status, 200);
    assert.equal(body, "1 passed\n");
    assert.equal(type, "text/plain; charset=utf-8");
  });
});

describe("tmax view API: a generated corpus", () => {
  test("totals, rejection reasons and every accepted task with its metadata and files", async () => {
    const { status, body } = await get<CorpusResponse>(`/api/corpus/0/corpora/gen-1`);
    assert.equal(status, 200);
    assert.deepEqual([body.totals.specs, body.totals.accepted, body.totals.rejected], [3, 2, 1]);
    assert.deepEqual(body.rejections, [{ reason: "build_failed", count: 1 }]);
    assert.equal(body.tasks.length, 2);
    for (const t of body.tasks) {
      assert.ok(t.files.includes("task.toml") && t.files.includes("instruction.md"), t.files.join(", "));
      assert.equal(t.oracleReward, 1);
      assert.ok(t.domain);
    }
  });

  test("the analysis report is HTML that may not run scripts; a directory without a manifest is no corpus", async () => {
    const res = await app.request("http://127.0.0.1/api/corpus-report/0/corpora/gen-1");
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-security-policy") ?? "", /sandbox/);
    assert.match(await res.text(), /<svg/);
    assert.equal((await get(`/api/corpus/0/runs`)).status, 404);
  });
});

describe("tmax view API: read-only, nothing outside the given directories", () => {
  const refused = [
    ["..", `/api/file/0/tmax/..%2F..%2Foutside%2Fsecret.txt`],
    ["%2e%2e segments", `/api/file/0/%2e%2e/outside/secret.txt`],
    ["%2E%2E in a job path", `/api/job/0/%2E%2E`],
    ["a symlinked directory pointing out", `/api/file/0/escape/secret.txt`],
    ["a symlinked file pointing out", `/api/file/0/harbor/harbor-job/fix-git__aaaaaaa/agent/leak.txt`],
    ["an absolute path", `/api/file/0/%2Fetc%2Fpasswd`],
    ["a root that does not exist", `/api/file/1/secret.txt`],
    ["no root number", `/api/file/outside/secret.txt`],
    ["malformed percent-encoding", `/api/file/0/%E0%A4%A`],
  ] as const;
  for (const [what, url] of refused) {
    test(`refuses ${what}`, async () => {
      const { status, body } = await get<unknown>(url);
      assert.equal(status, 403, JSON.stringify(body));
      assert.ok(!JSON.stringify(body).includes(SECRET));
    });
  }

  test("what does not exist is a 404; a directory is not a raw file", async () => {
    assert.equal((await get(`/api/file/0/tmax/nothing-here`)).status, 404);
    assert.equal((await get(`/api/file/0/tmax`)).status, 404);
  });

  test("only GET: anything else is refused and changes nothing", async () => {
    const res = await app.request("http://127.0.0.1/api/job/0/tmax/tmax-job", { method: "DELETE" });
    assert.equal(res.status, 405);
    assert.equal((await get(`/api/job/${TMAX_JOB}`)).status, 200);
  });

  test("ViewRoots.resolve: dot segments, encoded dots and symlinks out are PathRefused; inside paths resolve", async () => {
    const roots = new ViewRoots([f.root]);
    for (const p of ["0/..", "0/tmax/../..", "0/%2e%2e", "0/tmax/%2E%2E/%2e%2e", "0/escape", "0/escape/secret.txt", "0/tmax/..%2f..", "0/a%5c..%5c..", "0/%00"]) {
      await assert.rejects(roots.resolve(p), PathRefused, p);
    }
    await assert.rejects(roots.resolve("0/missing"), PathMissing);
    assert.equal((await roots.resolve("0/tmax/tmax-job")).viewPath, TMAX_JOB);
    assert.equal((await roots.resolve("0/tmax%2Dthing/../tmax").catch((e: Error) => e.name)), "PathRefused");
  });
});

describe("TrialIndex: each result.json read once, again only when it changes", () => {
  test("an unchanged file (same mtime and size) is not read again; a changed one is", async () => {
    const index = new TrialIndex();
    const result = join(f.harborJob, "fix-git__bbbbbbb", "result.json");
    const original = readFileSync(result, "utf8");
    const reward = async (): Promise<number | undefined> => (await index.job(f.harborJob)).trials.find((t) => t.name === "fix-git__bbbbbbb")!.record.rewards?.reward;
    const when = Math.floor(statSync(result).mtimeMs / 1000) - 60; // whole seconds: set back exactly
    try {
      utimesSync(result, when, when);
      assert.equal(await reward(), 0);
      // Same size, same mtime: the cached record stands (the file is not read).
      writeFileSync(result, original.replace('"reward": 0', '"reward": 1'));
      utimesSync(result, when, when);
      assert.equal(await reward(), 0);
      // A newer mtime: read again.
      utimesSync(result, when, when + 5);
      assert.equal(await reward(), 1);
    } finally {
      writeFileSync(result, original);
    }
  });
});

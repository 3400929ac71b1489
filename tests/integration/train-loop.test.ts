import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { appendFileSync, existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { SUBMIT_MARKER } from "../../src/agent/tmax/prompts.js";
import { cacheSalt } from "../../src/model/cache-salt.js";
import { loadHfTokenizer, type HfTokenizer } from "../../src/model/hf/hf-tokenizer.js";
import { readRollouts } from "../../src/rl/rollout-store.js";
import type { StepMetrics } from "../../src/rl/train/step-metrics.js";
import { seededPermutation } from "../../src/util/shuffle.js";
import { parseTrainMetrics } from "../../src/store/train-run.js";
import { readSessionRecords } from "../../src/environment/engine-sessions.js";
import { finished, podmanContainers, runCli, startCli } from "../helpers/cli.js";
import { startScriptedTokenServer, type ScriptedTokenServer } from "../helpers/scripted-token-server.js";
import { tempDir, writeTask } from "../helpers/task-fixture.js";
import { pidAlive, waitFor } from "../helpers/wait.js";
import { makeTinyModel } from "../helpers/tiny-model.js";

/**
 * `tmax train` end to end with the real learner (the tiny Qwen3) and real sandboxes, sampling from a scripted token
 * server with a stand-in of vLLM's control plane (it records pause / weight-update / version calls; it loads no
 * weights). The script makes the groups' rewards vary: sample j (seed 42 + j) solves the task when j is even and
 * answers without a tool call when j is odd, so every group is kept with advantages ±0.5.
 */

let tok: HfTokenizer;
let server: ScriptedTokenServer;
let modelDir: string;
/** The stale-group test's first control call (the server is shared by the tests of this file). */
let holdFrom = 0;

const toolCall = (command: string): string => `<tool_call>\n{"name": "bash", "arguments": {"command": "${command}"}}\n</tool_call><|im_end|>`;

before(async () => {
  modelDir = makeTinyModel();
  tok = await loadHfTokenizer(modelDir);
  server = await startScriptedTokenServer(
    async (req) => {
      const seed = req.body.seed ?? 0;
      const prompt = tok.decode(req.body.prompt as number[], { skipSpecialTokens: false });
      // The stale-group test holds prompt 0's samples until the weights are 3 versions newer than at its admission.
      if (prompt.includes("SLOW") && req.body.cache_salt === cacheSalt("p0", 0)) {
        await until(() => server.controls.slice(holdFrom).some((c) => JSON.stringify(c.body) === '{"weight_version":"3"}'));
      }
      const solves = (seed - 42) % 2 === 0 && !prompt.includes("NEVER");
      const text = solves ? toolCall(`touch /app/done; echo ${SUBMIT_MARKER}`) : "I cannot do that.<|im_end|>";
      return { ids: tok.encode(text, { addSpecialTokens: false }) };
    },
    { decode: (ids) => tok.decode(ids, { skipSpecialTokens: false }) },
  );
});

after(() => server.close());

async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((resolve) => setTimeout(resolve, 100));
}

function metricsOf(out: string): StepMetrics[] {
  return readFileSync(join(out, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as StepMetrics);
}

test("tmax train: async groups → learner steps → disk weight sync per step → the next groups sample at the new version; resume continues", { timeout: 480_000 }, async () => {
  const tasks = tempDir("tmax-train-tasks-");
  writeTask(tasks, "make-done");
  writeTask(tasks, "make-done-too");
  const out = join(tempDir("tmax-train-"), "run");
  const flags = ["--tasks", tasks, "--model-dir", modelDir, "--out", out, "--endpoints", server.url, "--group-size", "2", "--prompts-per-step", "1", "--async-steps", "1", "--sandboxes", "2", "--lr", "1e-4", "--hf-every", "1", "--resume-every", "1", "--max-tool-calls", "4", "--probe-endpoints", "false"];
  // Step 2's weights are evaluated: a tmax-agent job against a reference server started on that checkpoint.
  const evalFlags = ["--eval-dataset", tasks, "--eval-every", "2", "--eval-agent-kwargs", "max_steps=2,max_tokens=16,max_format_errors=1"];
  const run = await runCli(["train", ...flags, ...evalFlags, "--steps", "2", "--json"]);
  assert.equal(run.code, 0, run.stderr);
  const summary = JSON.parse(run.stdout) as { steps: number; policy_version: number; checkpoint: string };
  assert.equal(summary.steps, 2);
  assert.equal(summary.policy_version, 2);
  assert.equal(summary.checkpoint, join(out, "checkpoints", "step_2"));

  const metrics = metricsOf(out);
  assert.deepEqual(metrics.map((m) => [m.step, m.policy_version, m.applied, m.groups_kept, m.trajectories]), [[1, 1, true, 1, 2], [2, 2, true, 1, 2]]);
  for (const m of metrics) {
    assert.equal(m.reward_mean_kept, 0.5, "one of the two samples solved it");
    assert.ok(m.loss !== null && Number.isFinite(m.loss));
    assert.ok(m.kept_fraction !== null && m.kept_fraction > 0);
  }
  assert.equal(metrics[0]!.eval, null);
  // Both tasks done with once by step 2: the first pass over the tasks, with its 4 rollouts.
  assert.deepEqual(metrics.map((m) => m.passes), [[], [{ pass: 0, reward_mean: 0.5, rollouts: 4 }]]);
  const evaluation = metrics[1]!.eval!;
  assert.equal(evaluation.job_dir, join(out, "evals", "step_2"));
  assert.equal(evaluation.trials, 2, "2 tasks × k = 1");
  assert.equal(evaluation.best_step, 2);
  assert.ok(existsSync(join(evaluation.job_dir, "result.json")), "the eval is a normal job dir");
  assert.equal((JSON.parse(readFileSync(join(out, "best.json"), "utf8")) as { step: number }).step, 2);
  assert.ok(existsSync(join(out, "best", "model.safetensors")), "best/ holds the best checkpoint's weights");
  assert.ok(existsSync(join(out, "metrics.html")));
  assert.match(readFileSync(join(out, "metrics.html"), "utf8"), /<svg[\s\S]*reward/);

  // Each step's sync, in order: pause without draining, the disk weight-transfer calls with the learner's new
  // weights, the version label, resume.
  const syncs = server.controls.filter((c) => c.path === "/update_weights");
  assert.deepEqual(syncs.map((c) => c.body), [1, 2].map((v) => ({ update_info: { path: join(out, "checkpoints", `step_${v}`) } })));
  const sequence = server.controls.map((c) => c.path).filter((p) => p !== "/init_weight_transfer_engine");
  assert.deepEqual(sequence, ["/update_weight_version", ...[1, 2].flatMap(() => ["/pause?mode=keep", "/start_weight_update", "/update_weights", "/finish_weight_update", "/update_weight_version", "/resume"])]);
  assert.deepEqual(server.controls.filter((c) => c.path === "/finish_weight_update").map((c) => c.body), [{ weight_version: "1" }, { weight_version: "2" }]);

  // Groups admitted after the first sync sample at version 1: their prefix-cache salt is version 1's.
  const firstSync = server.controls.find((c) => c.path === "/resume")!.afterRequests;
  const later = server.requests.slice(firstSync).map((r) => r.body.cache_salt);
  const trained2 = await readRollouts(join(out, "rollouts", "step_2"));
  assert.ok(trained2.every((r) => r.policyVersion <= 1));
  // With room for one group, the group step 2 trains on was admitted the moment step 1 took its group, before the
  // learner step (generation overlaps training): sampled at version 0, one version behind when trained.
  assert.deepEqual(metrics.map((m) => m.staleness_max), [0, 1]);
  assert.ok(later.some((salt) => [0, 1, 2, 3, 4].some((k) => salt === cacheSalt(`p${k}`, 1))), "a group was admitted at version 1");
  assert.deepEqual(readdirSync(join(out, "checkpoints", "resume")).sort(), ["step_1", "step_2"]);

  // --resume with more steps: the learner continues from its last resume state, the pending prompts come first.
  const resumed = await runCli(["train", "--resume", out, "--steps", "3", "--json"]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.deepEqual(JSON.parse(resumed.stdout), { ...JSON.parse(resumed.stdout), steps: 3, resumed_from_step: 2, policy_version: 3 });
  assert.deepEqual(metricsOf(out).map((m) => m.step), [1, 2, 3]);
  assert.deepEqual(readdirSync(join(out, "checkpoints", "resume")).sort(), ["step_1", "step_2", "step_3"]);
  const refused = await runCli(["train", "--resume", out, "--lr", "1"]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /only steps, endpoints, reference_servers, sandboxes, engines, engine_max_starts, engine_max_execs may be given again/);
});

test("tmax train: a group more than async_steps versions old is dropped as stale, all-zero groups are replaced (active sampling)", { timeout: 480_000 }, async () => {
  const tasks = tempDir("tmax-train-stale-");
  writeTask(tasks, "make-done", { instruction: "SLOW: create /app/done.\n" });
  writeTask(tasks, "never-done", { instruction: "NEVER: create /app/done.\n" });
  const out = join(tempDir("tmax-train-"), "stale");
  holdFrom = server.controls.length;
  // A seed whose first prompt is the SLOW task (tasks are in name order: make-done is task 0).
  const seed = [...Array(50).keys()].find((s) => seededPermutation(2, s)[0] === 0)!;
  const flags = ["--tasks", tasks, "--model-dir", modelDir, "--out", out, "--endpoints", server.url, "--group-size", "2", "--prompts-per-step", "1", "--async-steps", "2", "--sandboxes", "6", "--lr", "1e-4", "--max-tool-calls", "4", "--probe-endpoints", "false", "--seed", String(seed)];
  const run = await runCli(["train", ...flags, "--steps", "6", "--json"]);
  assert.equal(run.code, 0, run.stderr);
  const metrics = metricsOf(out);
  assert.deepEqual(metrics.map((m) => m.groups_kept), [1, 1, 1, 1, 1, 1], "every step got its group");
  assert.ok(metrics.reduce((n, m) => n + m.groups_filtered_zero, 0) >= 1, "the NEVER task's groups were filtered and replaced");
  // Prompt 0 was held until the weights were 3 versions newer (> async_steps 2): dropped as stale, never trained. It
  // is released by step 3's sync; the next steps may already have their groups (admitted while the learner ran), so
  // the drop is counted at step 4, 5 or 6.
  assert.deepEqual(metrics.slice(0, 3).map((m) => m.groups_stale), [0, 0, 0]);
  assert.equal(metrics.reduce((n, m) => n + m.groups_stale, 0), 1);
  for (const step of [1, 2, 3, 4, 5, 6]) assert.ok((await readRollouts(join(out, "rollouts", `step_${step}`))).every((r) => r.groupId !== "p0"));
});

test("tmax train: a config error names the key; an out dir with a run in it is not overwritten", { timeout: 60_000 }, async () => {
  const bad = await runCli(["train", "--tasks", "x", "--model-dir", "y", "--out", join(tempDir(), "o"), "--loss", "dppo", "--delta", "0"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /delta: DPPO needs a trust-region delta > 0/);
  const missing = await runCli(["train", "--model-dir", "y", "--out", join(tempDir(), "o")]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /tasks: /);
});

/** Steps a run has written so far: a line being appended right now (no newline yet) does not count. */
const stepsIn = (out: string): number => {
  const file = join(out, "metrics.jsonl");
  return existsSync(file) ? parseTrainMetrics(readFileSync(file, "utf8"), file).rows.length : 0;
};

/** The learner process of a run (its command line names the run's checkpoints dir). */
function learnerPids(out: string): number[] {
  const r = spawnSync("pgrep", ["-f", `tmax_learner serve .*--out-dir ${join(out, "checkpoints")}`], { encoding: "utf8" });
  return r.stdout.split("\n").filter(Boolean).map(Number);
}

test("tmax train: SIGKILL mid-run, then --resume continues at the checkpoint; Ctrl-C leaves no container or learner and the run resumes", { timeout: 600_000 }, async () => {
  const tasks = tempDir("tmax-train-kill-");
  for (const name of ["a-task", "b-task", "c-task"]) writeTask(tasks, name);
  const out = join(tempDir("tmax-train-"), "killed");
  const flags = ["--tasks", tasks, "--model-dir", modelDir, "--out", out, "--endpoints", server.url, "--group-size", "2", "--prompts-per-step", "1", "--async-steps", "2", "--sandboxes", "4", "--lr", "1e-4", "--max-tool-calls", "4", "--probe-endpoints", "false", "--resume-every", "1"];

  // SIGKILL: nothing of tmax runs its cleanup. The learner notices its stdin close and exits.
  const first = startCli(["train", ...flags, "--steps", "40"], { group: true });
  const firstDone = finished(first);
  await waitFor("two steps", () => stepsIn(out) >= 2, 180_000);
  const learners = learnerPids(out);
  assert.equal(learners.length, 1, "one learner process");
  const firstSession = readSessionRecords().find((r) => r.owner.pid === first.pid)?.session;
  assert.ok(firstSession, "the first run recorded its session");
  process.kill(first.pid!, "SIGKILL");
  await firstDone;
  await waitFor("the orphaned learner to exit", () => !pidAlive(learners[0]!), 30_000);
  // A kill can land mid-append: the resume drops a line cut short (the final check parses every line).
  appendFileSync(join(out, "metrics.jsonl"), '{"step": 99, "reward_me');

  // --resume: from the newest resume state (the step the killed run had reached or the one before).
  const second = startCli(["train", "--resume", out, "--steps", "40"], { group: true });
  const secondDone = finished(second);
  const resumedAt = stepsIn(out);
  await waitFor("a step after the resume", () => stepsIn(out) > resumedAt, 180_000);
  const session = readSessionRecords().find((r) => r.owner.pid === second.pid)?.session;
  assert.ok(session, "the resumed run recorded its session");
  const learner = learnerPids(out);

  // Ctrl-C, as a terminal sends it: the whole process group.
  const sentAt = Date.now();
  process.kill(-second.pid!, "SIGINT");
  const stopped = await secondDone;
  assert.equal(stopped.code, 130, stopped.stderr);
  assert.ok((Date.now() - sentAt) / 1000 < 20, "stopped within seconds");
  assert.match(stopped.stderr, /npx tmax train --resume /);
  assert.deepEqual(podmanContainers(`label=tmax.session=${session}`), [], "no rollout container left");
  assert.ok(learner.every((pid) => !pidAlive(pid)), "the learner was stopped");

  // Finish the run: the steps are contiguous and no prompt was trained twice.
  const total = stepsIn(out) + 1;
  const last = await runCli(["train", "--resume", out, "--steps", String(total), "--json"]);
  assert.equal(last.code, 0, last.stderr);
  const metrics = metricsOf(out);
  assert.deepEqual(metrics.map((m) => m.step), Array.from({ length: total }, (_, i) => i + 1));
  const trained: string[] = [];
  for (let step = 1; step <= total; step++) trained.push(...new Set((await readRollouts(join(out, "rollouts", `step_${step}`))).map((r) => r.groupId)));
  assert.equal(new Set(trained).size, trained.length, `a prompt was trained twice: ${trained.join(" ")}`);
  // Every pass over the 3 tasks is counted once, across the kill and the resumes, with all 6 of its rollouts (each
  // group solves half): a pass open at a crash is resumed from the saved totals, not restarted or counted twice.
  const passes = metrics.flatMap((m) => m.passes);
  assert.ok(passes.length >= Math.floor(total / 3) - 1, `${passes.length} passes in ${total} steps`);
  assert.deepEqual(passes, passes.map((_, i) => ({ pass: i, reward_mean: 0.5, rollouts: 6 })));

  // The SIGKILLed run's sandboxes are left for `tmax sandboxes prune` (later runs only warn about them).
  const pruned = await runCli(["sandboxes", "prune"]);
  assert.equal(pruned.code, 0, pruned.stderr);
  assert.deepEqual(podmanContainers(`label=tmax.session=${firstSession}`), [], "the killed run's containers were pruned");
});

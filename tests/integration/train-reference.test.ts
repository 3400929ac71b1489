import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { before, test } from "node:test";
import { findLearnerPython } from "../../src/rl/learner-python.js";
import { readRollouts } from "../../src/rl/rollout-store.js";
import type { StepMetrics } from "../../src/rl/train/step-metrics.js";
import { REPO, runCli } from "../helpers/cli.js";
import { tempDir, writeTask } from "../helpers/task-fixture.js";

/**
 * `tmax train` against tmax's own reference inference server, with nothing scripted: the tiny model (with the toy
 * tokenizer, so it samples fast) writes every token, the real learner trains, real sandboxes run the commands. The
 * verifier flips a coin, so groups have reward variance whatever the untrained model does. With async_steps 0 every
 * step trains on rollouts sampled after the previous step's weight sync: if the server really sampled them with
 * the learner's new weights, the learner's logprobs of those tokens equal the server's (|Δlogprob| at float noise).
 * The control run syncs with a command that loads nothing: the server keeps the first weights and |Δlogprob| of
 * the second step is the size of the first step's update.
 */

let modelDir: string;
let tasks: string;

before(() => {
  modelDir = join(tempDir("tmax-train-ref-model-"), "model");
  execFileSync(findLearnerPython().command, ["-m", "tmax_learner", "make-tiny-model", modelDir, "--tokenizer-dir", join(REPO, "examples", "rl-toy", "tokenizer")], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  tasks = tempDir("tmax-train-ref-tasks-");
  const coin = "#!/bin/bash\necho $((RANDOM % 2)) > /logs/verifier/reward.txt\n";
  for (const name of ["flip-a", "flip-b"]) writeTask(tasks, name, { instruction: "Create the file /app/done.\n", testSh: coin });
});

function metricsOf(out: string): StepMetrics[] {
  return readFileSync(join(out, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as StepMetrics);
}

async function train(out: string, steps: number, extra: string[] = []): Promise<StepMetrics[]> {
  const flags = ["--tasks", tasks, "--model-dir", modelDir, "--out", out, "--endpoints", "reference", "--group-size", "4", "--prompts-per-step", "1", "--async-steps", "0"];
  const budgets = ["--max-prompt-tokens", "1024", "--max-turn-tokens", "24", "--max-response-tokens", "96", "--context-tokens", "1200", "--max-tool-calls", "2"];
  const run = await runCli(["train", ...flags, ...budgets, "--sandboxes", "4", "--lr", "3e-3", "--steps", String(steps), "--hf-every", "1", "--json", ...extra]);
  assert.equal(run.code, 0, run.stderr);
  return metricsOf(out);
}

test("tmax train on the reference server: after each disk sync the server samples with the learner's new weights", { timeout: 480_000 }, async () => {
  const out = join(tempDir("tmax-train-ref-"), "run");
  const metrics = await train(out, 3);
  assert.deepEqual(metrics.map((m) => [m.step, m.policy_version, m.applied]), [[1, 1, true], [2, 2, true], [3, 3, true]]);
  for (const m of metrics) {
    const rollouts = await readRollouts(join(out, "rollouts", `step_${m.step}`));
    assert.ok(rollouts.length >= 4, `step ${m.step}: ${rollouts.length} rollouts`);
    assert.ok(rollouts.every((r) => r.policyVersion === m.step - 1), `step ${m.step} trains on rollouts of version ${m.step - 1}`);
    assert.ok(rollouts.some((r) => r.responseIds.length > 0));
    assert.ok(m.logprob_diff_max !== null && m.logprob_diff_max < 1e-3, `step ${m.step}: max |Δlogprob| ${m.logprob_diff_max}`);
  }
  // The probe at start-up checked the server's tokenizer against the model dir's (vocab size, EOS, a round trip).
  assert.ok(metrics[2]!.logprob_diff_mean !== null);

  const control = join(tempDir("tmax-train-ref-stale-"), "run");
  const stale = await train(control, 2, ["--weight-sync", "command", "--weight-sync-command", "true"]);
  assert.ok(stale[0]!.logprob_diff_max! < 1e-3, "the first step still trains on the first weights' rollouts");
  assert.ok(stale[1]!.logprob_diff_mean! > 100 * Math.max(metrics[1]!.logprob_diff_mean!, 1e-7), `a server left on the old weights: |Δlogprob| ${stale[1]!.logprob_diff_mean} vs ${metrics[1]!.logprob_diff_mean}`);
});

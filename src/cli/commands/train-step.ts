import { join } from "node:path";
import { padTokenOf } from "../../model/hf/pad-token.js";
import { buildStepBatch } from "../../rl/learner-batch-builder.js";
import { writeLearnerBatch } from "../../rl/learner-batch.js";
import { LearnerClient } from "../../rl/learner-client.js";
import { readRollouts } from "../../rl/rollout-store.js";
import { EXIT, type ExitCode } from "../exit-codes.js";
import { handleInterrupts } from "../interrupts.js";

/**
 * `tmax train step --model-dir D --rollouts R --out O`: one RL step, end to end. The rollouts in R are grouped,
 * filtered and packed into OUT/batches/step-1.safetensors; `python -m tmax_learner serve` starts from D, makes one
 * optimizer step on it, writes the new weights to OUT/step_1/ (a Hugging Face model dir) and shuts down. The step's
 * report goes to stdout as JSON; the learner's log to stderr. Exit 1 when no group trains or the step was skipped.
 */

export interface TrainStepOptions {
  modelDir: string;
  rollouts: string;
  out: string;
  lr?: number;
  padTokenId?: number;
  /** Learner processes (data-parallel ranks under torchrun); default 1. */
  learnerProcesses?: number;
  /** torchrun's own arguments, replacing --standalone (several nodes). */
  torchrunArgs?: string[];
}

export async function trainStepCommand(opts: TrainStepOptions): Promise<ExitCode> {
  const rollouts = await readRollouts(opts.rollouts);
  const launch = { processes: opts.learnerProcesses ?? 1, ...(opts.torchrunArgs ? { torchrunArgs: opts.torchrunArgs } : {}) };
  const batch = buildStepBatch(rollouts, { currentStep: 0, padTokenId: opts.padTokenId ?? (await padTokenOf(opts.modelDir)), dpSize: launch.processes });
  if (batch.rows.length === 0) {
    console.error(`tmax train step: no group of the ${rollouts.length} rollouts trains: ${JSON.stringify(batch.counts)}`);
    return EXIT.failure;
  }
  const batchPath = join(opts.out, "batches", "step-1.safetensors");
  const summary = await writeLearnerBatch(batchPath, batch.rows, batch.advantages);

  const interrupts = handleInterrupts("stopping the learner");
  const serveArgs = ["--hf-every", "1", "--resume-every", "1000000000", ...(opts.lr === undefined ? [] : ["--lr", String(opts.lr)])];
  try {
    const learner = await LearnerClient.start({
      modelDir: opts.modelDir,
      outDir: opts.out,
      serveArgs,
      onLog: (line) => console.error(line),
      signal: interrupts.signal,
      launch,
    });
    try {
      const reply = await learner.step(batchPath);
      await learner.shutdown();
      const result = {
        step: reply.step,
        report: reply.report,
        saved: reply.saved,
        batch: { path: batchPath, rows: summary.rows, row_tokens: summary.rowTokens, scored_tokens: summary.scoredTokens },
        groups: batch.counts,
      };
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return reply.report.applied ? EXIT.ok : EXIT.failure;
    } finally {
      await learner.close();
    }
  } catch (err) {
    if (interrupts.signal.aborted) return EXIT.interrupted;
    throw err;
  } finally {
    interrupts.dispose();
  }
}

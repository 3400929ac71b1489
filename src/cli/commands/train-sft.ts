import { appendFile, mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { loadHfTokenizer } from "../../model/hf/hf-tokenizer.js";
import { padTokenOf } from "../../model/hf/pad-token.js";
import { writeLearnerBatch } from "../../rl/learner-batch.js";
import { LearnerClient } from "../../rl/learner-client.js";
import { readSftExamples, SftDataError } from "../../rl/sft/sft-dataset.js";
import { planSftSteps, sftStepRows } from "../../rl/sft/sft-steps.js";
import { SftProgress } from "../../ui/sft-progress.js";
import { EXIT, UsageError, type ExitCode } from "../exit-codes.js";
import { handleInterrupts } from "../interrupts.js";

/**
 * `tmax train sft DATA... --model-dir D --out O`: supervised fine-tuning on SFT JSONL (what `tmax export sft` writes,
 * in either format) with the learner's SFT loss — the token mean of −log π over the loss-mask-1 tokens of each step.
 * Each step's examples are packed into a batch file (OUT/batches/), the learner makes one AdamW step on it, and
 * OUT/metrics.jsonl gets a line. The final weights are a Hugging Face model dir, OUT/step_N/ (and every
 * --save-every steps on the way), which `tmax rollout`, `tmax train step` and an inference server can load.
 */

export interface TrainSftOptions {
  modelDir: string;
  out: string;
  epochs: number;
  batchSize: number;
  packLength: number;
  lr: number;
  seed: number;
  saveEvery?: number;
  padTokenId?: number;
  learnerProcesses?: number;
  torchrunArgs?: string[];
  json: boolean;
}

interface SftRunSummary {
  out: string;
  examples: number;
  truncated: number;
  steps: number;
  applied_steps: number;
  trained_tokens: number;
  first_loss: number | null;
  last_loss: number | null;
  checkpoint: string | null;
}

/** The learner's report fields that mean something for SFT (the rest compare with behaviour logprobs, which SFT
 *  data has none of). */
const SFT_REPORT_FIELDS = ["applied", "skip_reason", "loss", "grad_norm", "tokens", "row_tokens", "seconds", "tokens_per_second", "entropy_mean"] as const;

function pick(report: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => k in report).map((k) => [k, report[k]]));
}

function summaryText(s: SftRunSummary): string {
  const loss = (x: number | null): string => (x === null ? "–" : x.toFixed(4));
  return [
    `${s.examples} examples${s.truncated ? ` (${s.truncated} cut to the pack length)` : ""}, ${s.applied_steps}/${s.steps} steps applied, ${s.trained_tokens} tokens trained`,
    `loss ${loss(s.first_loss)} → ${loss(s.last_loss)}`,
    `weights: ${s.checkpoint ?? "none saved"}`,
  ].join("\n");
}

export async function trainSftCommand(data: string[], opts: TrainSftOptions): Promise<ExitCode> {
  const tokenizer = await loadHfTokenizer(opts.modelDir);
  let examples;
  try {
    examples = await readSftExamples(data, tokenizer);
  } catch (err) {
    if (err instanceof SftDataError) throw new UsageError(err.message);
    throw err;
  }
  const processes = opts.learnerProcesses ?? 1;
  const steps = planSftSteps(examples.length, { epochs: opts.epochs, batchSize: opts.batchSize, seed: opts.seed });
  const padTokenId = opts.padTokenId ?? (await padTokenOf(opts.modelDir));
  const metricsFile = join(opts.out, "metrics.jsonl");
  await mkdir(join(opts.out, "batches"), { recursive: true });
  await rm(metricsFile, { force: true });

  const interrupts = handleInterrupts("stopping the learner");
  const progress = new SftProgress(steps.length, opts.epochs);
  const summary: SftRunSummary = {
    out: opts.out,
    examples: examples.length,
    truncated: 0,
    steps: steps.length,
    applied_steps: 0,
    trained_tokens: 0,
    first_loss: null,
    last_loss: null,
    checkpoint: null,
  };
  const serveArgs = ["--loss", "sft", "--lr", String(opts.lr), "--hf-every", String(opts.saveEvery ?? 1_000_000_000), "--resume-every", "1000000000"];
  try {
    const learner = await LearnerClient.start({
      modelDir: opts.modelDir,
      outDir: opts.out,
      serveArgs,
      onLog: (line) => progress.message(line),
      signal: interrupts.signal,
      launch: { processes, ...(opts.torchrunArgs ? { torchrunArgs: opts.torchrunArgs } : {}) },
    });
    progress.start();
    try {
      for (const [i, plan] of steps.entries()) {
        progress.stepStarted(plan.epoch);
        const { rows, truncated } = sftStepRows(
          plan.examples.map((k) => examples[k]!),
          { packLength: opts.packLength, padTokenId, dpSize: processes },
        );
        summary.truncated += truncated;
        const batchPath = join(opts.out, "batches", `step-${i + 1}.safetensors`);
        await writeLearnerBatch(batchPath, rows, new Float32Array(plan.examples.length));
        const reply = await learner.step(batchPath, { epoch: plan.epoch, step: i + 1 });
        await rm(batchPath, { force: true });
        const { report } = reply;
        if (report.applied) {
          summary.applied_steps++;
          summary.trained_tokens += report.tokens;
          summary.first_loss ??= report.loss;
          summary.last_loss = report.loss;
        }
        const tokensPerSecond = typeof report.tokens_per_second === "number" ? report.tokens_per_second : null;
        const metrics = {
          step: i + 1,
          epoch: plan.epoch,
          examples: plan.examples.length,
          rows: rows.length,
          weights_version: reply.step,
          ...pick(report, SFT_REPORT_FIELDS),
        };
        await appendFile(metricsFile, `${JSON.stringify(metrics)}\n`);
        progress.stepEnded({ step: i + 1, epoch: plan.epoch, loss: report.loss, tokens: report.tokens, tokensPerSecond, applied: report.applied, skipReason: report.skip_reason });
        for (const path of reply.saved) summary.checkpoint = path;
      }
      const last = summary.checkpoint?.endsWith(`step_${summary.applied_steps}`) ? null : await learner.save("hf");
      // (the weights version is the count of applied steps, and step_N names it)
      if (last) summary.checkpoint = last.path;
      await learner.shutdown();
    } finally {
      progress.stop();
      await learner.close();
    }
  } catch (err) {
    if (interrupts.signal.aborted) return EXIT.interrupted;
    throw err;
  } finally {
    interrupts.dispose();
  }
  console.log(opts.json ? JSON.stringify(summary, null, 2) : summaryText(summary));
  return summary.applied_steps === summary.steps ? EXIT.ok : EXIT.failure;
}

import { seededPermutation } from "../../util/shuffle.js";
import { packTrajectories, rowLimitFor, type PackableTrajectory, type PackedRow } from "../packing.js";
import type { SftExample } from "./sft-dataset.js";

/**
 * The optimizer steps of an SFT run: each epoch visits every example once, in a seeded order of its own (seed +
 * epoch), `batchSize` examples per step (the last step of an epoch may have fewer). A step's examples are packed
 * into rows like rollouts (packing.ts): every token is in the model's context, the loss mask becomes the rows'
 * response mask, and attention never crosses examples.
 */

export interface SftPlanOptions {
  epochs: number;
  batchSize: number;
  seed: number;
}

export interface SftStepPlan {
  /** 1-based. */
  epoch: number;
  /** Indices into the examples. */
  examples: number[];
}

export function planSftSteps(exampleCount: number, options: SftPlanOptions): SftStepPlan[] {
  const { epochs, batchSize, seed } = options;
  if (!Number.isSafeInteger(epochs) || epochs < 1) throw new RangeError(`epochs must be an integer ≥ 1, not ${epochs}`);
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new RangeError(`the batch size must be an integer ≥ 1, not ${batchSize}`);
  const steps: SftStepPlan[] = [];
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const order = seededPermutation(exampleCount, seed + epoch - 1);
    for (let at = 0; at < order.length; at += batchSize) steps.push({ epoch, examples: order.slice(at, at + batchSize) });
  }
  return steps;
}

export interface SftRowOptions {
  /** Most tokens in a row; an example longer than this is cut to it. */
  packLength: number;
  padTokenId: number;
  /** Data-parallel ranks (each needs a row); default 1. */
  dpSize?: number;
}

export interface SftStepRows {
  rows: PackedRow[];
  /** Examples cut to packLength. */
  truncated: number;
}

function asTrajectory(example: SftExample, packLength: number): PackableTrajectory {
  const length = Math.min(example.inputIds.length, packLength);
  return {
    promptIds: [],
    responseIds: example.inputIds.slice(0, length),
    lossMask: example.lossMask.slice(0, length),
    logprobs: new Float32Array(length),
    policyVersion: 0,
  };
}

export function sftStepRows(examples: readonly SftExample[], options: SftRowOptions): SftStepRows {
  const trajectories = examples.map((e) => asTrajectory(e, options.packLength));
  const total = trajectories.reduce((n, t) => n + t.responseIds.length, 0);
  const rowLimit = rowLimitFor(total, options.dpSize ?? 1, options.packLength);
  return {
    rows: packTrajectories(trajectories, { rowLimit, padTokenId: options.padTokenId }),
    truncated: examples.filter((e) => e.inputIds.length > options.packLength).length,
  };
}

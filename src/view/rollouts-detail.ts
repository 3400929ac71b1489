import { existsSync } from "node:fs";
import { basename, dirname, isAbsolute, join } from "node:path";
import type { HfTokenizer } from "../model/hf/hf-tokenizer.js";
import { readRollouts } from "../rl/rollout-store.js";
import type { Rollout } from "../rl/rollout.js";
import { trainModelDir } from "../store/train-run.js";
import type { RolloutResponse, RolloutRow, RolloutsResponse } from "./api-types.js";

/**
 * The rollouts a training step trained on (`<run>/rollouts/step_N/`: rollouts.json + rollouts.bin, read with
 * rl/rollout-store.ts), as a list and one by one as tokens: each response token with its loss mask (1 = sampled by
 * the model and trained on, 0 = observation or template) and the engine's logprob. Token texts come from the
 * tokenizer of the model dir the run's train-config.json names, loaded once; without it the page shows token ids.
 */

const tokenizers = new Map<string, Promise<HfTokenizer | null>>();

/** The tokenizer of the run that wrote `stepDir` (`<run>/rollouts/step_N`), or null when it cannot be loaded. */
function tokenizerFor(stepDir: string): Promise<HfTokenizer | null> {
  const runDir = dirname(dirname(stepDir));
  let t = tokenizers.get(runDir);
  if (!t) {
    t = trainModelDir(runDir).then(async (modelDir) => {
      if (!modelDir) return null;
      const dir = isAbsolute(modelDir) || existsSync(modelDir) ? modelDir : join(runDir, modelDir);
      // Loaded on first use: the tokenizer libraries are not needed to list jobs.
      const { loadHfTokenizer } = await import("../model/hf/hf-tokenizer.js");
      return loadHfTokenizer(dir).catch(() => null);
    });
    tokenizers.set(runDir, t);
  }
  return t;
}

function row(r: Rollout, index: number): RolloutRow {
  return {
    index,
    task: r.taskName,
    group: r.groupId,
    sample: r.sampleIndex,
    policyVersion: r.policyVersion,
    reward: r.reward,
    ending: r.ending,
    error: r.error,
    promptTokens: r.promptIds.length,
    responseTokens: r.responseIds.length,
    trainedTokens: r.lossMask.reduce((n, m) => n + m, 0),
    turns: r.turns.length,
  };
}

export async function rolloutsList(path: string, stepDir: string): Promise<RolloutsResponse> {
  const rollouts = await readRollouts(stepDir);
  return { path, step: basename(stepDir), rollouts: rollouts.map(row) };
}

export async function rolloutTokens(path: string, stepDir: string, index: number): Promise<RolloutResponse | null> {
  const rollouts = await readRollouts(stepDir);
  const r = rollouts[index];
  if (!r) return null;
  const tokenizer = await tokenizerFor(stepDir);
  const text = (id: number): string | null => (tokenizer ? tokenizer.decode([id], { skipSpecialTokens: false }) : null);
  return {
    path,
    step: basename(stepDir),
    count: rollouts.length,
    rollout: row(r, index),
    decoded: tokenizer !== null,
    prompt: r.promptText || (tokenizer ? tokenizer.decode([...r.promptIds], { skipSpecialTokens: false }) : ""),
    tokens: Array.from(r.responseIds, (id, i) => ({ id, text: text(id), mask: r.lossMask[i]!, logprob: Number.isFinite(r.logprobs[i]!) ? r.logprobs[i]! : null })),
  };
}

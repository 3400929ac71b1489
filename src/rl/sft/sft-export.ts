import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import type { HfTokenizer } from "../../model/hf/hf-tokenizer.js";
import { readJob } from "../../store/job.js";
import type { Trajectory } from "../../store/trajectory.js";
import { errorMessage } from "../../util/errors.js";
import { primaryReward } from "../../verifier/reward.js";
import { readRollouts, ROLLOUT_INDEX_FILE } from "../rollout-store.js";
import { sftConversation } from "./sft-conversation.js";
import { sftTokens } from "./sft-tokens.js";

/**
 * SFT data from successful trajectories: every trial of the given job directories and every rollout of the given
 * rollout directories whose reward is at least `minReward` becomes one JSON line.
 *
 * - `messages`: `{messages, tools, metadata}`, the conversation in the OpenAI / Hugging Face chat format
 *   (sft-conversation.ts). Trials only: a rollout holds token ids, and turning them back into messages would mean
 *   parsing the model's tool calls out of the text again.
 * - `tokens`: `{input_ids, loss_mask, metadata}`, mask 1 on the tokens the model wrote. A rollout gives its stored
 *   prompt and response ids and its stored mask (0 on the prompt); a trial's conversation is rendered with a model
 *   dir's chat template (sft-tokens.ts).
 *
 * A trial's reward is its primary reward (verifier/reward.ts) from result.json; a trial without one, and a rollout
 * of an infrastructure failure (reward null), count as below any minimum.
 */

export type SftFormat = "messages" | "tokens";

export interface SftExportOptions {
  format: SftFormat;
  minReward: number;
  /** The model dir's tokenizer; needed for trials in `tokens` format. */
  tokenizer: HfTokenizer | null;
}

export type SftInputKind = "job" | "rollouts";

/** A trajectory that met the reward bar but could not be exported, or a trial whose result.json is unusable. */
export interface SftUnreadable {
  source: string;
  reason: string;
}

export interface SftSummary {
  /** Trials (readable or not) and rollouts seen. */
  found: number;
  exported: number;
  skipped_by_reward: number;
  unreadable: SftUnreadable[];
}

export interface SftExport {
  /** One JSON text per exported trajectory, in input order (trials in name order, rollouts in file order). */
  lines: string[];
  summary: SftSummary;
}

/** An input directory that does not exist or is not a directory. */
export class SftInputError extends Error {
  override name = "SftInputError";
}

/** An input the chosen format cannot export (a rollout directory as messages; a job as tokens without a tokenizer). */
export class SftFormatError extends Error {
  override name = "SftFormatError";
}

/** What an input directory holds: rollouts (it has rollouts.json) or a job (anything else; readJob decides). */
export function sftInputKind(dir: string): SftInputKind {
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    throw new SftInputError(`${dir}: no such directory`);
  }
  if (!isDir) throw new SftInputError(`${dir}: not a directory (give job directories or rollout directories)`);
  return existsSync(join(dir, ROLLOUT_INDEX_FILE)) ? "rollouts" : "job";
}

const meetsBar = (reward: number | null, minReward: number): reward is number => reward !== null && reward >= minReward;

function trajectoryLine(trajectory: Trajectory, metadata: Record<string, unknown>, options: SftExportOptions): string {
  const conversation = sftConversation(trajectory);
  const meta = {
    ...metadata,
    source: trajectory.file,
    format: trajectory.format === "chat" ? "tmax" : "atif",
    ...(trajectory.format === "atif" ? { agent: trajectory.document.agent.name } : {}),
  };
  if (options.format === "messages") return JSON.stringify({ messages: conversation.messages, tools: conversation.tools, metadata: meta });
  const { inputIds, lossMask } = sftTokens(conversation, options.tokenizer!);
  return JSON.stringify({ input_ids: inputIds, loss_mask: lossMask, metadata: meta });
}

async function exportJob(dir: string, options: SftExportOptions, out: SftExport): Promise<void> {
  const job = await readJob(dir);
  const listing = await job.trials();
  const { summary } = out;
  for (const u of listing.unreadable) {
    summary.found++;
    summary.unreadable.push({ source: join(dir, u.name), reason: `result.json: ${u.error}` });
  }
  for (const entry of listing.trials) {
    summary.found++;
    const reward = primaryReward(entry.record.rewards);
    if (!meetsBar(reward, options.minReward)) {
      summary.skipped_by_reward++;
      continue;
    }
    try {
      const trial = await job.trial(entry.name);
      const trajectory = (await trial.trajectory()) ?? (await trial.atif());
      if (!trajectory) throw new Error("no trajectory (agent/trajectory.json is missing)");
      const metadata = { task: entry.record.taskName, trial: entry.record.trialName, job: job.name, reward };
      out.lines.push(trajectoryLine(trajectory, metadata, options));
      summary.exported++;
    } catch (err) {
      summary.unreadable.push({ source: entry.dir, reason: errorMessage(err) });
    }
  }
}

async function exportRollouts(dir: string, options: SftExportOptions, out: SftExport): Promise<void> {
  const rollouts = await readRollouts(dir);
  const { summary } = out;
  rollouts.forEach((r, index) => {
    summary.found++;
    if (!meetsBar(r.reward, options.minReward)) {
      summary.skipped_by_reward++;
      return;
    }
    const metadata = { task: r.taskName, group_id: r.groupId, sample_index: r.sampleIndex, index, reward: r.reward, ending: r.ending, source: dir, format: "rollout" };
    out.lines.push(
      JSON.stringify({ input_ids: [...r.promptIds, ...r.responseIds], loss_mask: [...new Array<number>(r.promptIds.length).fill(0), ...r.lossMask], metadata }),
    );
    summary.exported++;
  });
}

/**
 * Checks every input first (before anything is read: SftInputError for a missing one, SftFormatError for one the
 * format cannot export), then reads them
 * in order. A job directory that readJob rejects, or rollout files that do not validate, throw.
 */
export async function exportSft(dirs: readonly string[], options: SftExportOptions): Promise<SftExport> {
  const kinds = dirs.map((dir) => {
    const kind = sftInputKind(dir);
    if (kind === "rollouts" && options.format === "messages") {
      throw new SftFormatError(`${dir}: a rollout directory holds token ids, not messages; export it with --format tokens`);
    }
    if (kind === "job" && options.format === "tokens" && !options.tokenizer) {
      throw new SftFormatError(`${dir}: --format tokens renders a job's trajectories with a chat template; give --model-dir`);
    }
    return kind;
  });
  const out: SftExport = { lines: [], summary: { found: 0, exported: 0, skipped_by_reward: 0, unreadable: [] } };
  for (let i = 0; i < dirs.length; i++) {
    if (kinds[i] === "rollouts") await exportRollouts(dirs[i]!, options, out);
    else await exportJob(dirs[i]!, options, out);
  }
  return out;
}

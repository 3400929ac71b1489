import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { parseTimestamp } from "../util/time.js";
import type { TrialRecord } from "./records.js";

/**
 * Lenient reader for trial result.json written by tmax or by any Harbor version: unknown keys are ignored and
 * optional ones may be missing.
 */
const num = z.number().nullable().optional().catch(null);
const lenientTrial = z.looseObject({
  trial_name: z.string().optional(),
  task_name: z.string().optional(),
  source: z.string().nullable().optional().catch(null),
  started_at: z.string().nullable().optional().catch(null),
  finished_at: z.string().nullable().optional().catch(null),
  verifier_result: z
    .looseObject({ rewards: z.record(z.string(), z.number().nullable()).nullable().optional() })
    .nullable()
    .optional()
    .catch(null),
  exception_info: z.looseObject({ exception_type: z.string().optional() }).nullable().optional().catch(null),
  agent_info: z
    .looseObject({
      name: z.string().optional(),
      model_info: z.looseObject({ name: z.string().optional(), provider: z.string().nullable().optional() }).nullable().optional(),
    })
    .nullable()
    .optional()
    .catch(null),
  agent_result: z
    .looseObject({ n_input_tokens: num, n_cache_tokens: num, n_output_tokens: num, cost_usd: num })
    .nullable()
    .optional()
    .catch(null),
  config: z
    .looseObject({
      agent: z.looseObject({ name: z.string().nullable().optional(), model_name: z.string().nullable().optional() }).optional(),
    })
    .nullable()
    .optional()
    .catch(null),
});

export class JobReadError extends Error {
  override name = "JobReadError";
}

export function trialRecordFromJson(data: unknown, fallbackName: string): TrialRecord {
  const t = lenientTrial.parse(data);
  const rewardsRaw = t.verifier_result?.rewards ?? null;
  const rewards = rewardsRaw
    ? Object.fromEntries(Object.entries(rewardsRaw).filter((e): e is [string, number] => typeof e[1] === "number"))
    : null;
  const trialName = t.trial_name ?? fallbackName;
  const modelInfo = t.agent_info?.model_info;
  const modelName = modelInfo?.name ?? t.config?.agent?.model_name ?? null;
  return {
    trialName,
    taskName: t.task_name ?? trialName.replace(/__[^_]+$/, ""),
    rewards,
    exceptionType: t.exception_info ? (t.exception_info.exception_type ?? "UnknownError") : null,
    startedAt: parseTimestamp(t.started_at),
    finished: !!t.finished_at,
    agentName: t.agent_info?.name ?? t.config?.agent?.name ?? "unknown",
    modelName,
    source: t.source ?? null,
    nInputTokens: t.agent_result?.n_input_tokens ?? null,
    nCacheTokens: t.agent_result?.n_cache_tokens ?? null,
    nOutputTokens: t.agent_result?.n_output_tokens ?? null,
    costUsd: t.agent_result?.cost_usd ?? null,
  };
}

/** Trial directories of a job: its child dirs holding a result.json, in name order. */
export function trialDirs(jobDir: string): string[] {
  if (!existsSync(jobDir)) throw new JobReadError(`${jobDir}: no such job directory`);
  return readdirSync(jobDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(jobDir, e.name, "result.json")))
    .map((e) => e.name)
    .sort();
}

/** Reads every trial of a job directory. Unreadable result files are reported, not skipped silently. */
export function readJobTrials(jobDir: string): { records: TrialRecord[]; unreadable: { dir: string; error: string }[] } {
  const records: TrialRecord[] = [];
  const unreadable: { dir: string; error: string }[] = [];
  for (const name of trialDirs(jobDir)) {
    const file = join(jobDir, name, "result.json");
    try {
      records.push(trialRecordFromJson(JSON.parse(readFileSync(file, "utf8")), name));
    } catch (err) {
      unreadable.push({ dir: name, error: (err as Error).message.split("\n")[0]! });
    }
  }
  if (records.length === 0 && unreadable.length === 0 && !existsSync(join(jobDir, "config.json"))) {
    throw new JobReadError(`${jobDir}: not a job directory (no config.json and no trial result.json files)`);
  }
  return { records, unreadable };
}

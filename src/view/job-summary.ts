import { basename } from "node:path";
import type { TrialRecord } from "../stats/records.js";
import { summarize } from "../stats/summary.js";
import type { IndexedJob } from "../store/trial-index.js";
import type { JobRow } from "./api-types.js";

/** One row of the jobs list: a job's figures from its indexed trials (stats/summary.ts does the statistics). */

/** The most frequent value (ties: the first seen); null when there is none. */
export function mostCommon(values: readonly (string | null)[]): string | null {
  const counts = new Map<string, number>();
  for (const v of values) if (v !== null) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: string | null = null;
  let bestCount = 0;
  for (const [v, n] of counts) {
    if (n > bestCount) {
      best = v;
      bestCount = n;
    }
  }
  return best;
}

function spanSeconds(job: IndexedJob): { startedAt: number; durationSec: number | null } {
  let first = Infinity;
  let last = -Infinity;
  for (const t of job.trials) {
    if (Number.isFinite(t.record.startedAt)) first = Math.min(first, t.record.startedAt);
    if (Number.isFinite(t.finishedAt)) last = Math.max(last, t.finishedAt);
  }
  return { startedAt: first, durationSec: Number.isFinite(first) && Number.isFinite(last) && last >= first ? (last - first) / 1000 : null };
}

export function jobRow(path: string, dir: string, job: IndexedJob): JobRow {
  const records: TrialRecord[] = job.trials.map((t) => t.record);
  const s = summarize(records);
  const span = spanSeconds(job);
  return {
    path,
    name: basename(dir),
    agent: mostCommon(records.map((r) => r.agentName)),
    model: mostCommon(records.map((r) => r.modelName)),
    dataset: mostCommon(records.map((r) => r.source)),
    trials: s.n_trials,
    tasks: s.n_tasks,
    unfinished: s.n_unfinished,
    unreadable: job.unreadable.length,
    errors: s.errors,
    nErrored: s.n_errored,
    reward: { mean: s.mean, sem: s.sem, runs: s.runs.length },
    validRewards: { trials: s.valid_rewards.n_trials, mean: s.valid_rewards.mean },
    passAtK: s.pass_at_k,
    durationSec: span.durationSec,
    tokens: { input: s.tokens.input, output: s.tokens.output, costUsd: s.tokens.cost_usd },
    startedAt: Number.isFinite(span.startedAt) ? new Date(span.startedAt).toISOString() : null,
  };
}

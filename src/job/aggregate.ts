import { evalKey, type TrialRecord } from "../stats/records.js";
import { harborEvalStats, sumOrNull } from "../stats/summary.js";
import type { JobResult } from "./schema.js";

/**
 * The pure part of a job's result.json: finished trial records plus the runner's live counters → Harbor's `stats`
 * block. No files, no clock; the orchestration (job.ts) owns both.
 */

/** What only the runner knows: trials in flight, still queued, cancelled, and retries so far. */
export interface JobCounters {
  running: number;
  pending: number;
  cancelled: number;
  retries: number;
}

/**
 * Harbor's JobResult.stats for the finished trials `records` (in the order they were recorded: it is the order of
 * the trial names in reward_stats and exception_stats). Field order is Harbor's.
 */
export function jobStats(records: readonly TrialRecord[], counters: JobCounters): JobResult["stats"] {
  const groups = new Map<string, TrialRecord[]>();
  for (const r of records) {
    const key = evalKey(r);
    const list = groups.get(key);
    if (list) list.push(r);
    else groups.set(key, [r]);
  }
  return {
    n_completed_trials: records.length,
    n_errored_trials: records.filter((r) => r.exceptionType).length,
    n_running_trials: counters.running,
    n_pending_trials: counters.pending,
    n_cancelled_trials: counters.cancelled,
    n_retries: counters.retries,
    evals: Object.fromEntries([...groups.entries()].map(([k, rs]) => [k, harborEvalStats(rs)])),
    n_input_tokens: sumOrNull(records, (r) => r.nInputTokens),
    n_cache_tokens: sumOrNull(records, (r) => r.nCacheTokens),
    n_output_tokens: sumOrNull(records, (r) => r.nOutputTokens),
    cost_usd: sumOrNull(records, (r) => r.costUsd),
  };
}

/**
 * A job's result.json before any trial of this run finished: a fresh job gets `id` and `startedAt`; a resumed one
 * keeps the previous id, start time and retry count. The stats are filled in by jobStats.
 */
export function initialJobResult(opts: {
  previous: JobResult | null;
  id: string;
  startedAt: string;
  now: string;
  nTotalTrials: number;
}): JobResult {
  const { previous } = opts;
  return {
    id: previous?.id ?? opts.id,
    started_at: previous?.started_at ?? opts.startedAt,
    updated_at: opts.now,
    finished_at: null,
    n_total_trials: opts.nTotalTrials,
    stats: {
      n_completed_trials: 0,
      n_errored_trials: 0,
      n_running_trials: 0,
      n_pending_trials: 0,
      n_cancelled_trials: 0,
      n_retries: previous?.stats?.n_retries ?? 0,
      evals: {},
      n_input_tokens: null,
      n_cache_tokens: null,
      n_output_tokens: null,
      cost_usd: null,
    },
  };
}

/** A trial that counts as done on resume: it finished and was not cancelled. */
export function isFinalRecord(record: TrialRecord): boolean {
  return record.finished && record.exceptionType !== "CancelledError";
}

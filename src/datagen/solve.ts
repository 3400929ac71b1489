import { passAtKForTask } from "../stats/pass-at-k.js";
import type { TrialRecord } from "../stats/records.js";
import { attemptsByTask } from "../stats/summary.js";
import type { CorpusTask } from "../store/corpus.js";
import { updateTaskMetadata } from "./corpus-write.js";
import { isRewardedAttempt, tierFor, TIERS, type Tier } from "./tiers.js";

export interface TaskSolveStats {
  task: string;
  attempts: number;
  /** Rewarded attempts (isRewardedAttempt: primary reward > 0 and no exception). */
  successes: number;
  /** successes / attempts: the task's tier accuracy. */
  accuracy: number;
  /** Unbiased pass@k for k = 1 .. attempts, counting rewarded attempts as successes. */
  pass_at_k: Record<string, number>;
}

/** Per-task tier accuracy and pass@k from a job's finished trials. */
export function solveStats(records: TrialRecord[]): Map<string, TaskSolveStats> {
  const out = new Map<string, TaskSolveStats>();
  for (const [task, list] of attemptsByTask(records.filter((r) => r.finished))) {
    const n = list.length;
    const c = list.filter(isRewardedAttempt).length;
    const pass: Record<string, number> = {};
    for (let k = 1; k <= n; k++) pass[String(k)] = passAtKForTask(n, c, k);
    out.set(task, { task, attempts: n, successes: c, accuracy: n === 0 ? 0 : c / n, pass_at_k: pass });
  }
  return out;
}

export interface SolveWriteResult {
  tiers: Record<Tier, number>;
  /** Mean pass@k over tasks that were attempted, keyed by k. */
  passAtK: Record<string, number>;
  updated: number;
  missing: string[];
}

/**
 * Writes each task's solve results and difficulty tier into its [metadata]. `second` (optional) holds a second
 * reference model's stats; tasks it lacks are tiered on the first model alone.
 */
export async function writeSolveResults(
  tasks: readonly CorpusTask[],
  first: Map<string, TaskSolveStats>,
  info: { agent: string; model: string | null; job: string },
  second?: Map<string, TaskSolveStats>,
): Promise<SolveWriteResult> {
  const tiers = Object.fromEntries(TIERS.map((t) => [t, 0])) as Record<Tier, number>;
  const sums: Record<string, number> = {};
  const counts: Record<string, number> = {};
  const missing: string[] = [];
  let updated = 0;
  for (const task of tasks) {
    const a = first.get(task.name);
    if (!a) {
      missing.push(task.name);
      continue;
    }
    const b = second?.get(task.name);
    const tier = tierFor(a.accuracy, b?.accuracy ?? a.accuracy);
    tiers[tier]++;
    for (const [k, v] of Object.entries(a.pass_at_k)) {
      sums[k] = (sums[k] ?? 0) + v;
      counts[k] = (counts[k] ?? 0) + 1;
    }
    await updateTaskMetadata(task.dir, {
      difficulty_tier: tier,
      solve: {
        agent: info.agent,
        ...(info.model ? { model: info.model } : {}),
        attempts: a.attempts,
        successes: a.successes,
        accuracy: a.accuracy,
        pass_at_k: a.pass_at_k,
        job: info.job,
        ...(b ? { second_model_accuracy: b.accuracy } : {}),
      },
    });
    updated++;
  }
  const passAtK = Object.fromEntries(Object.keys(sums).map((k) => [k, sums[k]! / counts[k]!]));
  return { tiers, passAtK, updated, missing };
}

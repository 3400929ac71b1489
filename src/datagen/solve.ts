import { passAtKForTask } from "../stats/pass-at-k.js";
import type { TrialRecord } from "../stats/records.js";
import { attemptsByTask } from "../stats/summary.js";
import { updateTaskMetadata, type CorpusTask } from "./corpus.js";

export type Tier = "frontier" | "advanced_plus" | "advanced" | "core" | "easy";
export const TIERS: Tier[] = ["frontier", "advanced_plus", "advanced", "core", "easy"];

/**
 * Difficulty tier from the per-task accuracies of one or two reference models (first match wins):
 * frontier if max < 0.40; advanced_plus if min < 0.40; advanced if min < 0.60; core if min < 0.80; else easy.
 */
export function tierFor(accA: number, accB: number = accA): Tier {
  const hi = Math.max(accA, accB);
  const lo = Math.min(accA, accB);
  if (hi < 0.4) return "frontier";
  if (lo < 0.4) return "advanced_plus";
  if (lo < 0.6) return "advanced";
  if (lo < 0.8) return "core";
  return "easy";
}

export interface TaskSolveStats {
  task: string;
  attempts: number;
  /** Attempts with reward > 0 and no exception (an exception counts as a failure even when a reward exists). */
  successes: number;
  accuracy: number;
  /** Unbiased pass@k for k = 1 .. attempts. */
  pass_at_k: Record<string, number>;
}

/** Per-task success counts from a job's trials. */
export function solveStats(records: TrialRecord[]): Map<string, TaskSolveStats> {
  const out = new Map<string, TaskSolveStats>();
  for (const [task, list] of attemptsByTask(records.filter((r) => r.finished))) {
    const n = list.length;
    const c = list.filter((r) => !r.exceptionType && r.rewards !== null && (r.rewards.reward ?? Object.values(r.rewards)[0] ?? 0) > 0).length;
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
  tasks: CorpusTask[],
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

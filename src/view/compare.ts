import { summarizeTasks, type TaskSummary } from "../stats/summary.js";
import type { IndexedJob } from "../store/trial-index.js";
import type { CompareResponse, CompareTask, JobRow } from "./api-types.js";

/**
 * Two or more jobs side by side, per task: each job's pass rate (mean primary reward) and attempts, whether the task
 * flipped (solved at least once in one job and never in another), and each later job's difference in mean from the
 * first over the tasks both ran, with the standard error of the paired per-task differences.
 */

function pairedDifference(base: Map<string, TaskSummary>, other: Map<string, TaskSummary>): { commonTasks: number; diff: number; se: number } {
  const diffs: number[] = [];
  for (const [task, b] of base) {
    const o = other.get(task);
    if (o) diffs.push(o.mean - b.mean);
  }
  const n = diffs.length;
  if (n === 0) return { commonTasks: 0, diff: 0, se: 0 };
  const mean = diffs.reduce((a, b) => a + b, 0) / n;
  const variance = n > 1 ? diffs.reduce((a, d) => a + (d - mean) ** 2, 0) / (n - 1) : 0;
  return { commonTasks: n, diff: mean, se: Math.sqrt(variance / n) };
}

export function compareJobs(jobs: readonly { row: JobRow; job: IndexedJob }[]): CompareResponse {
  const perJob = jobs.map(({ job }) => new Map(summarizeTasks(job.trials.map((t) => t.record)).map((s) => [s.task, s])));
  const names = [...new Set(perJob.flatMap((m) => [...m.keys()]))].sort();
  const tasks: CompareTask[] = names.map((task) => {
    const cells = perJob.map((m) => {
      const s = m.get(task);
      return s ? { mean: s.mean, attempts: s.attempts } : null;
    });
    const solved = perJob.map((m) => m.get(task)).filter((s): s is TaskSummary => !!s).map((s) => s.successes > 0);
    return { task, cells, flipped: solved.includes(true) && solved.includes(false) };
  });
  const base = perJob[0] ?? new Map<string, TaskSummary>();
  return {
    jobs: jobs.map((j) => j.row),
    tasks,
    differences: jobs.slice(1).map(({ row }, i) => ({ path: row.path, ...pairedDifference(base, perJob[i + 1]!) })),
  };
}

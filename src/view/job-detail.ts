import { attemptsByTask, recordsRewardKey, summarizeTasks } from "../stats/summary.js";
import type { IndexedJob, IndexedTrial } from "../store/trial-index.js";
import { columnChartSvg, COLORS } from "../ui/html/svg-charts.js";
import type { ErrorGroup, JobResponse, JobRow, TaskRow, TrialRow } from "./api-types.js";

/** The job page: per-task table, trial list, errors grouped by type and message, and two server-drawn charts. */

function trialRow(t: IndexedTrial, key: string): TrialRow {
  const r = t.record;
  return {
    name: t.name,
    task: r.taskName,
    reward: r.rewards ? (r.rewards[key] ?? null) : null,
    exceptionType: r.exceptionType,
    finished: r.finished,
    seconds: t.seconds,
  };
}

function taskRows(job: IndexedJob): TaskRow[] {
  const records = job.trials.map((t) => t.record);
  const byTask = attemptsByTask(records.filter((r) => r.finished));
  return summarizeTasks(records).map((s) => ({
    task: s.task,
    attempts: s.attempts,
    successes: s.successes,
    mean: s.mean,
    passAtK: s.pass_at_k,
    errors: s.errors,
    trials: (byTask.get(s.task) ?? []).map((r) => r.trialName),
  }));
}

export function errorGroups(trials: readonly IndexedTrial[]): ErrorGroup[] {
  const byType = new Map<string, Map<string, string[]>>();
  for (const t of trials) {
    const type = t.record.exceptionType;
    if (!type) continue;
    const messages = byType.get(type) ?? new Map<string, string[]>();
    const message = t.exceptionMessage ?? "(no message)";
    messages.set(message, [...(messages.get(message) ?? []), t.name]);
    byType.set(type, messages);
  }
  return [...byType.entries()]
    .map(([type, messages]) => ({
      type,
      count: [...messages.values()].reduce((n, list) => n + list.length, 0),
      messages: [...messages.entries()].map(([message, names]) => ({ message, count: names.length, trials: names })).sort((a, b) => b.count - a.count),
    }))
    .sort((a, b) => b.count - a.count);
}

const BINS = 10;

function rewardHistogram(rows: readonly TrialRow[]): string {
  const counts = new Array<number>(BINS).fill(0);
  let none = 0;
  for (const r of rows) {
    if (r.reward === null) none++;
    else counts[Math.min(BINS - 1, Math.max(0, Math.floor(r.reward * BINS)))]!++;
  }
  const columns: { label: string; value: number; color: string }[] = counts.map((value, i) => ({ label: i === BINS - 1 ? `${(i / BINS).toFixed(1)}–1` : (i / BINS).toFixed(1), value, color: COLORS.passed }));
  columns.push({ label: "none", value: none, color: COLORS.unfinished });
  return columnChartSvg(columns, { title: "Reward histogram (trials per reward bin)", height: 200, axisLabel: "trials" });
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function phaseChart(rows: readonly TrialRow[]): string {
  const phases = [
    ["environment_setup", "env setup", COLORS.neutral],
    ["agent_setup", "agent setup", COLORS.reference],
    ["agent_execution", "agent", COLORS.passed],
    ["verifier", "verifier", COLORS.pass],
  ] as const;
  const columns = phases.map(([key, label, color]) => {
    const xs = rows.map((r) => r.seconds[key]).filter((x): x is number => x !== null);
    const med = median(xs) ?? 0;
    const max = xs.length ? Math.max(...xs) : 0;
    return { label, value: med, color, valueLabel: `${med.toFixed(1)} s`, tooltip: `${label}: median ${med.toFixed(1)} s, max ${max.toFixed(1)} s over ${xs.length} trials` };
  });
  return columnChartSvg(columns, { title: "Median seconds per trial phase", height: 200, integer: false, formatValue: (v) => (v >= 10 ? v.toFixed(0) : v.toFixed(1)), axisLabel: "seconds (median)" });
}

export function jobDetail(row: JobRow, job: IndexedJob): JobResponse {
  const key = recordsRewardKey(job.trials.map((t) => t.record).filter((r) => r.finished));
  const trials = job.trials.map((t) => trialRow(t, key));
  return {
    job: row,
    rewardKey: key,
    tasks: taskRows(job),
    trials,
    errors: errorGroups(job.trials),
    unreadable: job.unreadable.map((u) => ({ name: u.name, error: u.error })),
    charts: [
      { title: "Rewards", svg: rewardHistogram(trials) },
      { title: "Trial phases", svg: phaseChart(trials) },
    ],
  };
}

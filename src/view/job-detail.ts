import { attemptsByTask, recordsRewardKey, summarizeTasks } from "../stats/summary.js";
import type { IndexedJob, IndexedTrial } from "../store/trial-index.js";
import { columnChartSvg, COLORS } from "../ui/html/svg-charts.js";
import { CHART_SIZE, phaseCaption, phaseDurations, phaseHistogramSvg } from "./phase-durations.js";
import type { ErrorGroup, JobResponse, JobRow, TaskRow, TrialRow } from "./api-types.js";

/**
 * The job page: per-task table, trial list, errors grouped by type and message, and server-drawn charts: the reward
 * histogram and the duration distribution of each trial phase (phase-durations.ts).
 */

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
  // Bins [i/10, (i+1)/10), the last one with 1 in it, each labelled by its lower edge (short enough for the column).
  const columns: { label: string; value: number; color: string; tooltip: string }[] = counts.map((value, i) => {
    const from = (i / BINS).toFixed(1);
    const to = i === BINS - 1 ? "1" : ((i + 1) / BINS).toFixed(1);
    return { label: from, value, color: COLORS.passed, tooltip: `${from} to ${to}${i === BINS - 1 ? " (inclusive)" : ""}: ${value} trials` };
  });
  columns.push({ label: "none", value: none, color: COLORS.unfinished, tooltip: `no reward: ${none} trials` });
  return columnChartSvg(columns, { title: "Reward histogram (trials per reward bin)", ...CHART_SIZE, axisLabel: "trials" });
}

export function jobDetail(row: JobRow, job: IndexedJob): JobResponse {
  const key = recordsRewardKey(job.trials.map((t) => t.record).filter((r) => r.finished));
  const trials = job.trials.map((t) => trialRow(t, key));
  const durations = phaseDurations(trials);
  return {
    job: row,
    rewardKey: key,
    tasks: taskRows(job),
    trials,
    errors: errorGroups(job.trials),
    unreadable: job.unreadable.map((u) => ({ name: u.name, error: u.error })),
    phaseDurations: durations,
    charts: [{ title: "Rewards", svg: rewardHistogram(trials) }, ...durations.filter((d) => d.stats).map((d) => ({ title: phaseCaption(d), svg: phaseHistogramSvg(d) }))],
  };
}

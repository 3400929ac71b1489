import { formatPythonFloat } from "../util/python-float.js";
import { isSolved, primaryRewardKey } from "../verifier/reward.js";
import { harborKValues, passAtK, passAtKForTask } from "./pass-at-k.js";
import type { TrialRecord } from "./records.js";

export interface RunStats {
  /** Mean reward of run i (run i = the i-th attempt of every task that has one). */
  runs: number[];
  mean: number;
  /** Population standard deviation across runs (divides by R). */
  std: number;
  /** std / sqrt(R). */
  sem: number;
}

export interface Summary {
  n_trials: number;
  n_tasks: number;
  /** Trials that produced a reward. */
  n_rewarded: number;
  /** Trials with exception_info. */
  n_errored: number;
  /** Trials still running or never finished (not counted in the figures). */
  n_unfinished: number;
  reward_key: string;
  /** Mean reward over all trials, missing rewards counted as 0. */
  mean: number;
  std: number;
  sem: number;
  runs: number[];
  pass_at_k: Record<string, number>;
  errors: Record<string, number>;
  /** Mean per reward key when trials report several keys. */
  reward_means: Record<string, number>;
  /** Per reward key (several keys only): trials that report it and their mean. */
  reward_reported: Record<string, { n: number; mean: number }>;
  /**
   * Harbor ≥ 0.26's job mean, for comparison: over the trials whose reward is valid only (records.ts
   * `rewardValid`), the others left out instead of counted 0. `mean` is of reward_key (null when no trial has a
   * valid reward); `reward_means` per key when they report several, a missing key counted 0, as Harbor does.
   */
  valid_rewards: { n_trials: number; mean: number | null; reward_means: Record<string, number> };
  tokens: { input: number | null; cache: number | null; output: number | null; cost_usd: number | null };
}

export interface TaskSummary {
  task: string;
  attempts: number;
  successes: number;
  mean: number;
  errors: Record<string, number>;
  pass_at_k: Record<string, number>;
}

/** The reward the figures of these trials are about: verifier/reward.ts's primaryRewardKey over their rewards. */
export function recordsRewardKey(records: readonly TrialRecord[]): string {
  return primaryRewardKey(records.map((r) => r.rewards));
}

const rewardOf = (r: TrialRecord, key: string): number => r.rewards?.[key] ?? 0;
const avg = (xs: number[]): number => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);

/** Trials grouped by task, each group in deterministic order: started_at, then trial name. */
export function attemptsByTask(records: TrialRecord[]): Map<string, TrialRecord[]> {
  const byTask = new Map<string, TrialRecord[]>();
  for (const r of records) {
    const list = byTask.get(r.taskName) ?? [];
    list.push(r);
    byTask.set(r.taskName, list);
  }
  for (const list of byTask.values()) {
    list.sort((a, b) => {
      const ta = Number.isNaN(a.startedAt) ? Infinity : a.startedAt;
      const tb = Number.isNaN(b.startedAt) ? Infinity : b.startedAt;
      return ta !== tb ? ta - tb : a.trialName < b.trialName ? -1 : a.trialName > b.trialName ? 1 : 0;
    });
  }
  return new Map([...byTask.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export function runStats(records: TrialRecord[], key = recordsRewardKey(records)): RunStats {
  return runStatsOf(attemptsByTask(records), key);
}

function runStatsOf(byTask: Map<string, TrialRecord[]>, key: string): RunStats {
  const nRuns = Math.max(0, ...[...byTask.values()].map((l) => l.length));
  const runs: number[] = [];
  for (let i = 0; i < nRuns; i++) {
    const run = [...byTask.values()].filter((l) => l.length > i).map((l) => rewardOf(l[i]!, key));
    runs.push(avg(run));
  }
  const mean = avg(runs);
  const std = runs.length === 0 ? 0 : Math.sqrt(avg(runs.map((x) => (x - mean) ** 2)));
  return { runs, mean, std, sem: runs.length === 0 ? 0 : std / Math.sqrt(runs.length) };
}

/** Mean pass@k over tasks at Harbor's k values, with `success` deciding each attempt. */
function passAtKWhere(records: TrialRecord[], success: (r: TrialRecord) => boolean): Record<string, number> {
  return passAtKOfTasks(attemptsByTask(records), success);
}

function passAtKOfTasks(byTask: Map<string, TrialRecord[]>, success: (r: TrialRecord) => boolean): Record<string, number> {
  if (byTask.size === 0) return {};
  const groups = [...byTask.values()].map((l) => ({ n: l.length, c: l.filter(success).length }));
  return passAtK(groups, harborKValues(Math.min(...groups.map((g) => g.n))));
}

/** Every reported value of `key` is 0 or 1 (missing values allowed). */
function binaryOn(records: TrialRecord[], key: string): boolean {
  return records.every((r) => r.rewards === null || r.rewards[key] === undefined || r.rewards[key] === 0 || r.rewards[key] === 1);
}

/** pass@k is defined only for binary single-key rewards (Harbor's rule); otherwise {}. */
export function passAtKFor(records: TrialRecord[]): Record<string, number> {
  const singleKeyBinary = records.every((r) => {
    if (!r.rewards) return true;
    const vals = Object.values(r.rewards);
    return vals.length === 1 && (vals[0] === 0 || vals[0] === 1);
  });
  // Single-key binary rewards: solved (primary reward ≥ 1) is exactly "the reward is 1".
  return singleKeyBinary ? passAtKWhere(records, (r) => isSolved(r.rewards)) : {};
}

function countErrors(records: TrialRecord[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of records) if (r.exceptionType) out[r.exceptionType] = (out[r.exceptionType] ?? 0) + 1;
  return Object.fromEntries(Object.entries(out).sort(([, a], [, b]) => b - a));
}

/** The sum of the known values, or null when none is known (token counts and costs are often unreported). */
export function sumOrNull<T>(items: readonly T[], value: (item: T) => number | null): number | null {
  let sum = 0;
  let seen = false;
  for (const item of items) {
    const x = value(item);
    if (x != null) {
      sum += x;
      seen = true;
    }
  }
  return seen ? sum : null;
}

/** Harbor ≥ 0.26's mean metric over the trials with a valid reward (Summary.valid_rewards). */
function validRewards(records: TrialRecord[], key: string): Summary["valid_rewards"] {
  const valid = records.filter((r) => r.rewardValid);
  const keys = [...new Set(valid.flatMap((r) => Object.keys(r.rewards ?? {})))].sort();
  const reward_means: Record<string, number> = {};
  if (keys.length > 1) for (const k of keys) reward_means[k] = avg(valid.map((r) => rewardOf(r, k)));
  return { n_trials: valid.length, mean: valid.length ? avg(valid.map((r) => rewardOf(r, key))) : null, reward_means };
}

export function summarize(all: TrialRecord[]): Summary {
  const records = all.filter((r) => r.finished);
  const key = recordsRewardKey(records);
  const byTask = attemptsByTask(records);
  const rs = runStatsOf(byTask, key);
  const keys = new Set<string>();
  for (const r of records) for (const k of Object.keys(r.rewards ?? {})) keys.add(k);
  const rewardMeans: Record<string, number> = {};
  const rewardReported: Record<string, { n: number; mean: number }> = {};
  if (keys.size > 1) {
    for (const k of [...keys].sort()) {
      rewardMeans[k] = avg(records.map((r) => rewardOf(r, k)));
      const reporting = records.filter((r) => r.rewards?.[k] !== undefined);
      rewardReported[k] = { n: reporting.length, mean: avg(reporting.map((r) => r.rewards![k]!)) };
    }
  }
  return {
    n_trials: records.length,
    n_tasks: byTask.size,
    n_rewarded: records.filter((r) => r.rewards).length,
    n_errored: records.filter((r) => r.exceptionType).length,
    n_unfinished: all.length - records.length,
    reward_key: key,
    mean: avg(records.map((r) => rewardOf(r, key))),
    std: rs.std,
    sem: rs.sem,
    runs: rs.runs,
    pass_at_k: binaryOn(records, key) ? passAtKOfTasks(byTask, (r) => isSolved(r.rewards, key)) : {},
    errors: countErrors(records),
    reward_means: rewardMeans,
    reward_reported: rewardReported,
    valid_rewards: validRewards(records, key),
    tokens: {
      input: sumOrNull(records, (r) => r.nInputTokens),
      cache: sumOrNull(records, (r) => r.nCacheTokens),
      output: sumOrNull(records, (r) => r.nOutputTokens),
      cost_usd: sumOrNull(records, (r) => r.costUsd),
    },
  };
}


export function summarizeTasks(all: TrialRecord[]): TaskSummary[] {
  const records = all.filter((r) => r.finished);
  const key = recordsRewardKey(records);
  const binary = binaryOn(records, key);
  return [...attemptsByTask(records).entries()].map(([task, list]) => {
    const successes = list.filter((r) => isSolved(r.rewards, key)).length;
    const passes: Record<string, number> = {};
    if (binary) for (const k of harborKValues(list.length)) passes[String(k)] = passAtKForTask(list.length, successes, k);
    return {
      task,
      attempts: list.length,
      successes,
      mean: avg(list.map((r) => rewardOf(r, key))),
      errors: countErrors(list),
      pass_at_k: passes,
    };
  });
}

/** Harbor's per-eval statistics block of job result.json. */
export interface AgentDatasetStats {
  n_trials: number;
  n_errors: number;
  metrics: Record<string, number>[];
  pass_at_k: Record<string, number>;
  reward_stats: Record<string, Record<string, string[]>>;
  exception_stats: Record<string, string[]>;
}

export function harborEvalStats(records: TrialRecord[]): AgentDatasetStats {
  const key = recordsRewardKey(records);
  const keys = new Set<string>();
  for (const r of records) for (const k of Object.keys(r.rewards ?? {})) keys.add(k);
  // Harbor's metric dict (aggregate_reward_dicts): {"mean": …} for one reward key, else one mean per key, by name.
  const metric: Record<string, number> = {};
  if (keys.size <= 1) metric.mean = avg(records.map((r) => rewardOf(r, key)));
  else for (const k of [...keys].sort()) metric[k] = avg(records.map((r) => rewardOf(r, k)));
  const rewardStats: Record<string, Record<string, string[]>> = {};
  const exceptionStats: Record<string, string[]> = {};
  for (const r of records) {
    for (const [k, v] of Object.entries(r.rewards ?? {})) {
      const byValue = (rewardStats[k] ??= {});
      (byValue[formatPythonFloat(v)] ??= []).push(r.trialName);
    }
    if (r.exceptionType) (exceptionStats[r.exceptionType] ??= []).push(r.trialName);
  }
  return {
    n_trials: records.filter((r) => r.rewards).length,
    n_errors: records.filter((r) => r.exceptionType).length,
    metrics: [metric],
    pass_at_k: passAtKFor(records),
    reward_stats: rewardStats,
    exception_stats: exceptionStats,
  };
}

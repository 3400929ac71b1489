/**
 * The JSON shapes of the viewer's API (/api/…), shared by the server (src/view/) and the browser app (web/). Plain
 * types with no imports, so the browser build can use them without pulling in Node code.
 *
 * Every job, trial and run is addressed by a "view path": `<root index>/<path relative to that root>`, with "/"
 * separators, where the roots are the directories given to `tmax view`. The trial at view path `0/jobs/a/t__x` is the
 * directory `t__x` of the job `0/jobs/a`.
 */

export interface RootInfo {
  index: number;
  dir: string;
}

export interface MeanSem {
  mean: number;
  sem: number;
  /** Runs (attempt rounds) the SEM is over. */
  runs: number;
}

export interface JobRow {
  path: string;
  name: string;
  agent: string | null;
  model: string | null;
  dataset: string | null;
  trials: number;
  tasks: number;
  unfinished: number;
  unreadable: number;
  errors: Record<string, number>;
  nErrored: number;
  reward: MeanSem;
  /** Harbor ≥ 0.26's mean: over the trials with a valid reward only (stats/summary.ts valid_rewards). */
  validRewards: { trials: number; mean: number | null };
  passAtK: Record<string, number>;
  /** Seconds from the first trial's start to the last one's end; null when unknown. */
  durationSec: number | null;
  tokens: { input: number | null; output: number | null; costUsd: number | null };
  /** When the first trial started (ISO); null when unknown. */
  startedAt: string | null;
}

export interface RunRow {
  path: string;
  name: string;
  steps: number;
  lastReward: number | null;
}

/** A generated corpus (`tmax gen build` output: a directory with manifest.jsonl). */
export interface CorpusRow {
  path: string;
  name: string;
  accepted: number;
  rejected: number;
}

export interface JobsResponse {
  roots: RootInfo[];
  jobs: JobRow[];
  runs: RunRow[];
  corpora: CorpusRow[];
}

export interface TaskRow {
  task: string;
  attempts: number;
  successes: number;
  mean: number;
  passAtK: Record<string, number>;
  errors: Record<string, number>;
  /** The task's trials in attempt order. */
  trials: string[];
}

export interface TrialRow {
  name: string;
  task: string;
  /** The primary reward; null when the trial produced none. */
  reward: number | null;
  exceptionType: string | null;
  finished: boolean;
  seconds: { total: number | null; environment_setup: number | null; agent_setup: number | null; agent_execution: number | null; verifier: number | null };
}

export interface ErrorGroup {
  type: string;
  count: number;
  /** Distinct messages with how many trials had each, most frequent first. */
  messages: { message: string; count: number; trials: string[] }[];
}

/** A trial phase (TrialRow.seconds' keys). */
export type PhaseKey = keyof TrialRow["seconds"];

/** Trials whose phase took from `from` (inclusive) to `to` seconds (exclusive, but for the last bin). */
export interface DurationBin {
  from: number;
  to: number;
  count: number;
}

/** How long a job's trials spent in one phase: quartiles and a histogram, over the trials that have its times. */
export interface PhaseDurations {
  phase: PhaseKey;
  label: string;
  trials: number;
  /** Seconds; null when no trial has the phase's times. */
  stats: { min: number; q1: number; median: number; q3: number; max: number } | null;
  bins: DurationBin[];
}

export interface JobResponse {
  job: JobRow;
  rewardKey: string;
  tasks: TaskRow[];
  trials: TrialRow[];
  errors: ErrorGroup[];
  unreadable: { name: string; error: string }[];
  /** Per phase (environment setup, agent, verifier, the whole trial): the duration distribution. */
  phaseDurations: PhaseDurations[];
  /** Inline SVG charts rendered by the server (escaped): the reward histogram, then one duration histogram per phase. */
  charts: { title: string; svg: string }[];
}

export interface CompareTask {
  task: string;
  /** Per job, in the order asked: pass rate (mean primary reward) and attempts; null when the job lacks the task. */
  cells: ({ mean: number; attempts: number } | null)[];
  /** Solved in one job and not in another (any-pass differs). */
  flipped: boolean;
}

export interface CompareResponse {
  jobs: JobRow[];
  tasks: CompareTask[];
  /** Each job after the first against the first, over the tasks both have: difference in mean with its standard error. */
  differences: { path: string; commonTasks: number; diff: number; se: number }[];
}

export interface PhaseTimingInfo {
  startedAt: string | null;
  finishedAt: string | null;
  seconds: number | null;
}

export interface TrialFileInfo {
  path: string;
  type: "file" | "directory" | "symlink" | "other";
  size: number;
}

/** One step of a multi-step trial, as the trial page lists it. */
export interface TrialStepInfo {
  name: string;
  /** steps/<name> relative to the trial (its agent/, verifier/, artifacts/), null when the step left no files. */
  dir: string | null;
  rewards: Record<string, number> | null;
  /** The step's reward file under steps/<name>/verifier/, when it wrote one. */
  rewardFile: string | null;
  rewardError: string | null;
  /** rewarded: the verifier recorded rewards; failed: it ran without (see exception); running; not run. */
  verification: "rewarded" | "failed" | "running" | "not run";
  exception: { type: string; message: string | null } | null;
  agentSeconds: number | null;
  verifierSeconds: number | null;
  /** steps/<name>/verifier/test-stdout.txt. */
  verifierStdout: string | null;
}

export interface TrialResponse {
  path: string;
  name: string;
  jobPath: string;
  task: string | null;
  agent: string | null;
  model: string | null;
  rewards: Record<string, number> | null;
  rewardFile: string | null;
  rewardError: string | null;
  exception: { type: string; message: string | null; traceback: string | null } | null;
  timings: Record<string, PhaseTimingInfo | null> | null;
  verifierStdout: string | null;
  instruction: string | null;
  files: TrialFileInfo[];
  hasTrajectory: boolean;
  /** A multi-step trial's steps in the order they ran; null for a single-step trial. */
  steps: TrialStepInfo[] | null;
  /** The previous and next trial of the job (name order), for keyboard navigation. */
  previous: string | null;
  next: string | null;
}

export interface ToolCallView {
  name: string;
  /** The shell command of a bash call; otherwise the arguments as JSON. */
  command: string;
  observation: string | null;
  exitCode: number | null;
}

export interface StepView {
  index: number;
  /** "system", "user" or "agent". */
  source: string;
  message: string;
  reasoning: string | null;
  calls: ToolCallView[];
  promptTokens: number | null;
  completionTokens: number | null;
  llmSec: number | null;
  bashSec: number | null;
  timestamp: string | null;
}

export interface TrajectoryResponse {
  path: string;
  /** "atif" or "chat". */
  format: string;
  file: string;
  agent: string | null;
  model: string | null;
  steps: StepView[];
  totals: { promptTokens: number | null; completionTokens: number | null; costUsd: number | null };
}

export interface CorpusTaskRow {
  name: string;
  domain: string | null;
  skillType: string | null;
  language: string | null;
  tier: string | null;
  /** The oracle's and the nop agent's reward at validation. */
  oracleReward: number | null;
  nopReward: number | null;
  /** The task's files, relative to the task directory. */
  files: string[];
}

export interface CorpusResponse {
  path: string;
  name: string;
  totals: { specs: number; accepted: number; rejected: number; pending: number; acceptanceRate: number | null; costUsd: number; costPerAcceptedUsd: number | null };
  rejections: { reason: string; count: number }[];
  tiers: { tier: string; count: number }[];
  passAtK: Record<string, number>;
  tasks: CorpusTaskRow[];
}

export interface RolloutRow {
  index: number;
  task: string;
  group: string;
  sample: number;
  policyVersion: number;
  reward: number | null;
  ending: string;
  error: string | null;
  promptTokens: number;
  responseTokens: number;
  /** Response tokens with loss mask 1. */
  trainedTokens: number;
  turns: number;
}

export interface RolloutsResponse {
  /** The view path of the step's directory (`<run>/rollouts/step_N`). */
  path: string;
  step: string;
  rollouts: RolloutRow[];
}

export interface RolloutToken {
  id: number;
  /** The token's text; null when the run's tokenizer could not be loaded. */
  text: string | null;
  /** 1 = sampled by the model (trained on), 0 = observation or template. */
  mask: number;
  /** The engine's logprob of the sampled token; null where there is none. */
  logprob: number | null;
}

export interface RolloutResponse {
  path: string;
  step: string;
  /** Rollouts in the step (for next/previous). */
  count: number;
  rollout: RolloutRow;
  decoded: boolean;
  prompt: string;
  tokens: RolloutToken[];
}

export interface RunResponse {
  path: string;
  name: string;
  /** metrics.jsonl, one object per line, in order. */
  metrics: Record<string, unknown>[];
  /** Inline SVG curves rendered by the server (escaped). */
  charts: string[];
  /** Step numbers with a rollouts/step_N directory. */
  rolloutSteps: number[];
}

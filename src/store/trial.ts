import { lstat, readdir, stat } from "node:fs/promises";
import { basename, join, relative, resolve, sep } from "node:path";
import { z } from "zod";
import {
  lenientTrialConfigSchema,
  lenientTrialResultSchema,
  trialSummarySchema,
  type LenientStepResult,
  type LenientTiming,
  type LenientTrialConfig,
  type LenientTrialResult,
} from "../harbor/lenient.js";
import { CHAT_MESSAGES_FILE, LEGACY_ATIF_FILE, TRAJECTORY_FILE } from "../agent/tmax/trajectory-files.js";
import { trialRecordFromSummary, type TrialRecord } from "../stats/records.js";
import { TrialPaths } from "../trial/paths.js";
import { errorMessage } from "../util/errors.js";
import { FileFormatError, parseJsonText, readOptionalJsonDocument, readOptionalText, validateDocument } from "../util/json-file.js";
import { parseTimestamp } from "../util/time.js";
import { rewardsFromFiles, type Rewards } from "../verifier/reward.js";
import { once } from "./lazy.js";
import { trajectoryFromJson, type AtifTrajectory, type Trajectory } from "./trajectory.js";

/**
 * The read model of one trial directory, written by tmax or by any Harbor version (harbor-format.md §6–§7):
 *
 *   <trial>/config.json  result.json  trial.log  exception.txt
 *   <trial>/agent/       trajectory.json (ATIF; chat messages in older tmax jobs)  chat-messages.json (tmax)
 *                        trajectory.atif.json (older tmax jobs)  …
 *   <trial>/verifier/    reward.json | reward.txt  test-stdout.txt
 *   <trial>/artifacts/
 *   <trial>/steps/<name>/{agent,verifier,artifacts}/   a multi-step trial's, per step (none of the three at the root)
 *
 * Lazy: `readTrial` only checks the directory; each accessor reads its file on first call and caches the answer
 * (or the error). A file that does not exist reads as null; a file that exists but is malformed rejects with
 * FileFormatError naming the file and the field. Every document is validated with the lenient zod schemas of
 * harbor/lenient.ts and store/trajectory.ts.
 */
export interface TrialView {
  /** The trial directory as given. */
  readonly dir: string;
  /** Its name (Harbor's `<task>__<id>`). */
  readonly name: string;
  /** config.json. */
  config(): Promise<LenientTrialConfig | null>;
  /** result.json. */
  result(): Promise<LenientTrialResult | null>;
  /** result.json reduced to what statistics use (as a job listing reads it); null without result.json. */
  record(): Promise<TrialRecord | null>;
  /**
   * The trajectory, exact chat messages first: agent/chat-messages.json (tmax), else agent/trajectory.json in
   * whichever format it holds (ATIF; chat messages in older tmax jobs); null when the agent wrote none.
   */
  trajectory(): Promise<Trajectory | null>;
  /** The ATIF trajectory: agent/trajectory.json when it is ATIF, else agent/trajectory.atif.json (older tmax jobs). */
  atif(): Promise<AtifTrajectory | null>;
  /** What the verifier wrote. */
  verifier(): Promise<VerifierOutput>;
  /** agent/timing.json: tmax's seconds per agent step (model, bash); null when the agent wrote none. */
  stepTimings(): Promise<StepTiming[] | null>;
  /** trial.log. */
  log(): Promise<string | null>;
  /** exception.txt (the traceback of a failed trial). */
  exception(): Promise<string | null>;
  /** Phase timings from result.json; null without result.json. */
  timings(): Promise<TrialTimings | null>;
  /** A multi-step trial's steps (result.json's step_results, each with its files); null for a single-step trial. */
  steps(): Promise<TrialStep[] | null>;
  /** Every file and folder of the trial, depth first in name order. */
  files(): Promise<TrialFile[]>;
  /** Any file of the trial as text, by path relative to the trial (null when missing); paths outside are refused. */
  text(relativePath: string): Promise<string | null>;
}

export interface VerifierOutput {
  /** The rewards the verifier wrote: reward.json wins over reward.txt (Harbor's contract); null when neither exists or it is malformed. */
  rewards: Rewards | null;
  /** Which file the rewards come from. */
  rewardFile: "reward.json" | "reward.txt" | null;
  /** Why the reward file could not be used (empty, not a number, …). */
  rewardError: string | null;
  /** verifier/test-stdout.txt. */
  stdout: string | null;
}

/** One line of tmax's agent/timing.json (agent/tmax/trajectory-files.ts writes it): one per command or format error. */
export interface StepTiming {
  step?: number;
  llm_s?: number;
  bash_s?: number;
  return_code?: number;
}

const stepTimingsSchema = z.array(z.looseObject({ step: z.number().optional(), llm_s: z.number().optional(), bash_s: z.number().optional(), return_code: z.number().optional() }));

export interface PhaseTiming {
  startedAt: string | null;
  finishedAt: string | null;
  /** finishedAt − startedAt; null unless both are known. */
  seconds: number | null;
}

/** Harbor's trial phases; a phase that never started is null. */
export interface TrialTimings {
  /** The whole trial (result.json's started_at / finished_at). */
  trial: PhaseTiming;
  environment_setup: PhaseTiming | null;
  agent_setup: PhaseTiming | null;
  agent_execution: PhaseTiming | null;
  verifier: PhaseTiming | null;
}

/** One step of a multi-step trial: its entry in result.json's step_results, with what its verifier wrote. */
export interface TrialStep {
  name: string;
  /** steps/<name>, relative to the trial, when it exists; null when the name is no single directory name or the step left no files. */
  dir: string | null;
  /** The rewards the step recorded in result.json, else those of its verifier/ reward file; null when it has none. */
  rewards: Rewards | null;
  /** What the step's verifier wrote under steps/<name>/verifier/ (nothing when `dir` is null). */
  verifier: VerifierOutput;
  /** Whether its verifier ran: recorded rewards, ran without (its error is the step's exception), is running, never ran. */
  verification: "rewarded" | "failed" | "running" | "not run";
  exception: { type: string; message: string | null } | null;
  agentExecution: PhaseTiming | null;
  verifierTiming: PhaseTiming | null;
}

export interface TrialFile {
  /** Relative to the trial directory, with "/" separators. */
  path: string;
  type: "file" | "directory" | "symlink" | "other";
  /** Bytes (0 for directories). */
  size: number;
}

/** A trial directory that does not exist. */
export class TrialDirError extends Error {
  override name = "TrialDirError";
}

function phase(t: LenientTiming | null | undefined): PhaseTiming | null {
  if (!t) return null;
  const startedAt = t.started_at ?? null;
  const finishedAt = t.finished_at ?? null;
  const secs = (parseTimestamp(finishedAt) - parseTimestamp(startedAt)) / 1000;
  return { startedAt, finishedAt, seconds: Number.isFinite(secs) ? secs : null };
}

async function listTrialFiles(root: string, rel = ""): Promise<TrialFile[]> {
  const entries = await readdir(rel ? join(root, rel) : root, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const out: TrialFile[] = [];
  for (const e of entries) {
    const path = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) {
      out.push({ path, type: "directory", size: 0 });
      out.push(...(await listTrialFiles(root, path)));
    } else {
      const s = await lstat(join(root, path));
      out.push({ path, type: e.isFile() ? "file" : e.isSymbolicLink() ? "symlink" : "other", size: s.size });
    }
  }
  return out;
}

/** What a verifier wrote in `dir` (a trial's verifier/, or a step's steps/<name>/verifier/). */
async function readVerifierDir(dir: string | null): Promise<VerifierOutput> {
  if (dir === null) return { rewards: null, rewardFile: null, rewardError: null, stdout: null };
  const [json, txt, stdout] = await Promise.all([
    readOptionalText(join(dir, "reward.json")),
    readOptionalText(join(dir, "reward.txt")),
    readOptionalText(join(dir, "test-stdout.txt")),
  ]);
  if (json === null && txt === null) return { rewards: null, rewardFile: null, rewardError: null, stdout };
  try {
    const { file, rewards } = rewardsFromFiles({ json, txt });
    return { rewards, rewardFile: file, rewardError: null, stdout };
  } catch (err) {
    return { rewards: null, rewardFile: json !== null ? "reward.json" : "reward.txt", rewardError: errorMessage(err), stdout };
  }
}

/** Recorded rewards as numbers (a null value, which lenient readers allow, is left out); null when none were recorded. */
export function recordedRewards(raw: Record<string, number | null> | null | undefined): Rewards | null {
  if (!raw) return null;
  return Object.fromEntries(Object.entries(raw).filter((e): e is [string, number] => typeof e[1] === "number"));
}

/**
 * steps/<name> of a trial when `name` is one directory name (result.json is data: never a path out) and it is a
 * directory there (not a link to one elsewhere).
 */
async function stepDirOf(trialDir: string, name: string): Promise<string | null> {
  if (name === "" || name === "." || name === ".." || /[/\\\0]/.test(name)) return null;
  const rel = `steps/${name}`;
  return (await lstat(join(trialDir, rel)).catch(() => null))?.isDirectory() ? rel : null;
}

async function readStep(trialDir: string, r: LenientStepResult, index: number): Promise<TrialStep> {
  const name = r.step_name ?? `step ${index + 1}`;
  const dir = r.step_name ? await stepDirOf(trialDir, r.step_name) : null;
  const verifier = await readVerifierDir(dir === null ? null : join(trialDir, dir, "verifier"));
  const recorded = recordedRewards(r.verifier_result?.rewards);
  const ex = r.exception_info ?? null;
  return {
    name,
    dir,
    rewards: recorded ?? verifier.rewards,
    verifier,
    verification: recorded ? "rewarded" : !r.verifier ? "not run" : r.verifier.finished_at ? "failed" : "running",
    exception: ex ? { type: ex.exception_type ?? "UnknownError", message: ex.exception_message ?? null } : null,
    agentExecution: phase(r.agent_execution),
    verifierTiming: phase(r.verifier),
  };
}

/** Opens the read model of one trial directory; throws TrialDirError when it is not a directory. */
export async function readTrial(dir: string): Promise<TrialView> {
  try {
    if (!(await stat(dir)).isDirectory()) throw new TrialDirError(`${dir}: not a trial directory`);
  } catch (err) {
    if (err instanceof TrialDirError) throw err;
    throw new TrialDirError(`${dir}: no such trial directory (${errorMessage(err)})`);
  }
  const paths = new TrialPaths(dir);
  const trajectoryFile = join(paths.agent, TRAJECTORY_FILE);

  const raw = once(async (): Promise<unknown> => {
    const text = await readOptionalText(paths.result);
    return text === null ? undefined : parseJsonText(paths.result, text);
  });
  const result = once(async () => {
    const data = await raw();
    return data === undefined ? null : validateDocument(paths.result, data, lenientTrialResultSchema);
  });
  const readTrajectory = async (file: string): Promise<Trajectory | null> => {
    const text = await readOptionalText(file);
    return text === null ? null : trajectoryFromJson(file, parseJsonText(file, text));
  };
  const stored = once(() => readTrajectory(trajectoryFile));
  const trajectory = once(async () => {
    const messages = await readTrajectory(join(paths.agent, CHAT_MESSAGES_FILE));
    if (messages && messages.format !== "chat") throw new FileFormatError(messages.file, "", "expected an array of chat messages, found ATIF");
    return messages ?? (await stored());
  });

  return {
    dir,
    name: basename(resolve(dir)),
    config: once(() => readOptionalJsonDocument(paths.config, lenientTrialConfigSchema)),
    result,
    record: once(async () => {
      const data = await raw();
      if (data === undefined) return null;
      const summary = validateDocument(paths.result, data, trialSummarySchema);
      return trialRecordFromSummary(summary, basename(resolve(dir)));
    }),
    trajectory,
    atif: once(async () => {
      const t = await stored();
      if (t?.format === "atif") return t;
      const legacy = await readTrajectory(join(paths.agent, LEGACY_ATIF_FILE));
      if (legacy && legacy.format !== "atif") throw new FileFormatError(legacy.file, "", "expected an ATIF document, found chat messages");
      return legacy;
    }),
    verifier: once(() => readVerifierDir(paths.verifier)),
    stepTimings: once(() => readOptionalJsonDocument(join(paths.agent, "timing.json"), stepTimingsSchema)),
    log: once(() => readOptionalText(paths.log)),
    exception: once(() => readOptionalText(paths.exception)),
    timings: once(async () => {
      const r = await result();
      if (!r) return null;
      return {
        trial: phase({ started_at: r.started_at, finished_at: r.finished_at })!,
        environment_setup: phase(r.environment_setup),
        agent_setup: phase(r.agent_setup),
        agent_execution: phase(r.agent_execution),
        verifier: phase(r.verifier),
      };
    }),
    steps: once(async () => {
      const stepResults = (await result())?.step_results;
      return stepResults ? Promise.all(stepResults.map((r, i) => readStep(dir, r, i))) : null;
    }),
    files: once(() => listTrialFiles(dir)),
    text: async (relativePath: string) => {
      const root = resolve(dir);
      const file = resolve(root, relativePath);
      const inside = relative(root, file);
      if (inside === "" || inside.startsWith("..") || inside.split(sep).includes("..")) {
        throw new TrialDirError(`${relativePath}: not a file of the trial ${dir}`);
      }
      return readOptionalText(file);
    },
  };
}

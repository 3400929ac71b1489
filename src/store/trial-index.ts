import { readFileSync, statSync } from "node:fs";
import { childDirNames } from "../job/layout.js";
import { trialRecordFromJson, type UnreadableTrial } from "../job/trial-records.js";
import type { TrialRecord } from "../stats/records.js";
import { TRIAL_RESULT_FILE } from "../trial/paths.js";
import { errorMessage } from "../util/errors.js";
import { isMissingFile } from "../util/json-file.js";
import { parseTimestamp } from "../util/time.js";

/**
 * A long-lived index of the trials of job directories, for readers that look at the same jobs again and again while
 * they may still be written (the viewer). Each trial's result.json is read once and kept with its modification time
 * and size; a later listing only stats the file and reads it again when it changed. Nothing else of a trial is
 * opened. Files are read synchronously, one after the other: for thousands of small files that is several times
 * faster than as many awaited reads (the viewer's listing is the only work of its process). Besides the TrialRecord,
 * the one read keeps what a job page shows without opening the trial: the phase durations and the exception message.
 */

/** Seconds spent in each of Harbor's trial phases (null: the phase did not run or its times are unknown). */
export interface PhaseSeconds {
  total: number | null;
  environment_setup: number | null;
  agent_setup: number | null;
  agent_execution: number | null;
  verifier: number | null;
}

export interface IndexedTrial {
  /** The trial directory's name. */
  name: string;
  record: TrialRecord;
  seconds: PhaseSeconds;
  /** exception_info.exception_message, cut to a few hundred characters; null without an exception. */
  exceptionMessage: string | null;
  /** result.json's finished_at, in ms since the epoch (NaN when unknown). */
  finishedAt: number;
}

export interface IndexedJob {
  trials: IndexedTrial[];
  unreadable: UnreadableTrial[];
}

interface CacheEntry {
  mtimeMs: number;
  size: number;
  value: IndexedTrial | UnreadableTrial;
}

const MESSAGE_CHARS = 400;

type Obj = Record<string, unknown>;
const asObj = (v: unknown): Obj | null => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Obj) : null);
const asString = (v: unknown): string | null => (typeof v === "string" ? v : null);

function secondsBetween(from: unknown, to: unknown): number | null {
  const s = (parseTimestamp(asString(to)) - parseTimestamp(asString(from))) / 1000;
  return Number.isFinite(s) ? s : null;
}

function phaseSeconds(data: Obj, key: string): number | null {
  const p = asObj(data[key]);
  return p ? secondsBetween(p.started_at, p.finished_at) : null;
}

/** The phase durations of a parsed trial result.json. */
export function phaseSecondsOf(data: unknown): PhaseSeconds {
  const d = asObj(data) ?? {};
  return {
    total: secondsBetween(d.started_at, d.finished_at),
    environment_setup: phaseSeconds(d, "environment_setup"),
    agent_setup: phaseSeconds(d, "agent_setup"),
    agent_execution: phaseSeconds(d, "agent_execution"),
    verifier: phaseSeconds(d, "verifier"),
  };
}

async function indexTrial(name: string, file: string): Promise<IndexedTrial | UnreadableTrial> {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    return { name, file, error: err instanceof SyntaxError ? `not valid JSON (${err.message})` : errorMessage(err) };
  }
  const outcome = await trialRecordFromJson(data, name);
  if ("error" in outcome) return { name, file, error: outcome.error };
  const d = asObj(data)!;
  const message = asString(asObj(d.exception_info)?.exception_message);
  return {
    name,
    record: outcome.record,
    seconds: phaseSecondsOf(d),
    exceptionMessage: message === null ? null : message.slice(0, MESSAGE_CHARS),
    finishedAt: parseTimestamp(asString(d.finished_at)),
  };
}

/** What a trial directory has and a job directory does not. */
const TRIAL_MARKS = ["agent", "verifier", "trial.log"];

function isFile(path: string): boolean {
  try {
    return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
  } catch {
    return false;
  }
}

const isIndexed = (v: IndexedTrial | UnreadableTrial): v is IndexedTrial => "record" in v;

export class TrialIndex {
  private readonly entries = new Map<string, CacheEntry>();

  /**
   * The trials of a job directory (children holding result.json) in name order; a result.json is read only when it
   * is new or changed since the last call. Throws JobDirError when the directory cannot be listed.
   */
  async job(jobDir: string): Promise<IndexedJob> {
    const prefix = jobDir.endsWith("/") ? jobDir : `${jobDir}/`;
    const trials: IndexedTrial[] = [];
    const unreadable: UnreadableTrial[] = [];
    for (const name of childDirNames(jobDir)) {
      const file = `${prefix}${name}/${TRIAL_RESULT_FILE}`;
      const value = await this.trial(name, file);
      if (value === null) continue;
      if (isIndexed(value)) trials.push(value);
      else unreadable.push(value);
    }
    return { trials, unreadable };
  }

  /**
   * Whether a directory holds at least one trial, without reading any file: a child with result.json and one of
   * what only a trial has (agent/, verifier/ or trial.log; a job directory has result.json too).
   */
  static hasTrials(dir: string): boolean {
    for (const name of childDirNames(dir)) {
      const child = `${dir}/${name}/`;
      if (isFile(child + TRIAL_RESULT_FILE) && TRIAL_MARKS.some((m) => statSync(child + m, { throwIfNoEntry: false }) !== undefined)) return true;
    }
    return false;
  }

  private async trial(name: string, file: string): Promise<IndexedTrial | UnreadableTrial | null> {
    let info;
    try {
      info = statSync(file);
    } catch (err) {
      this.entries.delete(file);
      if (isMissingFile(err)) return null;
      return { name, file, error: errorMessage(err) };
    }
    const cached = this.entries.get(file);
    if (cached && cached.mtimeMs === info.mtimeMs && cached.size === info.size) return cached.value;
    const value = await indexTrial(name, file);
    this.entries.set(file, { mtimeMs: info.mtimeMs, size: info.size, value });
    return value;
  }
}

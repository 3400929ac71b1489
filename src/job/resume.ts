import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { TrialRecord } from "../stats/records.js";
import { isMissingFile, readJsonDocument } from "../util/json-file.js";
import { isFinalRecord } from "./aggregate.js";
import { jobFile } from "./layout.js";
import { jobConfigSchema, jobResultSchema, type JobConfig, type JobResult } from "./schema.js";
import { readTrialRecords } from "./trial-records.js";

/**
 * Reading an existing job directory to continue it (`tmax run --resume`): its config, its previous result.json and
 * which trials are finished. Interrupted trials (no finished_at, CancelledError, or an unreadable result.json) are
 * discarded and run again; finished ones are kept byte for byte.
 */

/** A job's config.json, validated with tmax's job config schema (errors name the file and field). */
export function readJobConfig(jobDir: string): JobConfig {
  const file = jobFile(jobDir, "config");
  if (!existsSync(file)) throw new Error(`${jobDir} is not a job directory (no config.json)`);
  return readJsonDocument(file, jobConfigSchema);
}

/** The previous result.json of a job, validated with the job result schema; null when there is none. */
export function readPreviousResult(jobDir: string): JobResult | null {
  try {
    return readJsonDocument(jobFile(jobDir, "result"), jobResultSchema);
  } catch (err) {
    if (isMissingFile(err)) return null;
    throw err;
  }
}

export interface ResumeState {
  previous: JobResult | null;
  /** Finished trials by directory name, in name order. */
  finished: Map<string, TrialRecord>;
  /** Trial directories to discard and run again, in name order. */
  interrupted: string[];
}

/** What a resumed job starts from. Reads only; discardInterrupted removes the interrupted trials. */
export async function readResumeState(jobDir: string): Promise<ResumeState> {
  const previous = readPreviousResult(jobDir);
  const read = await readTrialRecords(jobDir);
  const finished = new Map<string, TrialRecord>();
  const interrupted = new Set<string>(read.unreadable.map((u) => u.name));
  for (const t of read.trials) {
    if (isFinalRecord(t.record)) finished.set(t.name, t.record);
    else interrupted.add(t.name);
  }
  return { previous, finished, interrupted: [...interrupted].sort() };
}

/** Removes interrupted trial directories (they run again). */
export async function discardInterrupted(jobDir: string, names: readonly string[]): Promise<void> {
  for (const name of names) await rm(join(jobDir, name), { recursive: true, force: true });
}

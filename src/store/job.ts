import { existsSync } from "node:fs";
import { stat } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import type * as Lenient from "../harbor/lenient.js";
import type { LenientJobConfig, LenientJobResult, LenientLock } from "../harbor/lenient.js";
import { JobDirError, jobFile } from "../job/layout.js";
import { readTrialRecords, type UnreadableTrial } from "../job/trial-records.js";
import type { TrialRecord } from "../stats/records.js";
import { readOptionalJsonDocument } from "../util/json-file.js";
import { once } from "./lazy.js";
import type { TrialView } from "./trial.js";

export type { UnreadableTrial } from "../job/trial-records.js";

/**
 * The read model of a job directory written by tmax or by any Harbor version (harbor-format.md §6–§7):
 *
 *   <job>/config.json  lock.json  result.json  job.log  <trial>/…  (a trial: a child directory holding result.json)
 *
 * Lazy and cached: `readJob` only checks the directory; every accessor reads on its first call and returns the same
 * answer afterwards. A missing document reads as null; a malformed one rejects with FileFormatError naming the file
 * and the field (documents are validated with the lenient zod schemas of harbor/lenient.ts, so the drift between
 * Harbor versions is tolerated).
 *
 * The trial listing is the fast path behind `tmax stats`: it reads each trial's result.json exactly once, keeps only
 * the TrialRecord, never opens anything else of a trial (trajectories can be megabytes), and reports every unreadable
 * result.json rather than skipping it. This module does not load zod itself; the schemas are imported on first use
 * of a document accessor, so listing thousands of trials costs no schema-library start-up.
 */
export interface JobView {
  /** The job directory as given. */
  readonly dir: string;
  /** Its name (the last path component). */
  readonly name: string;
  /** config.json (Harbor's JobConfig, any version: older ones nest concurrency and retry under `orchestrator`). */
  config(): Promise<LenientJobConfig | null>;
  /** result.json (Harbor's JobResult; rewritten live while the job runs). */
  result(): Promise<LenientJobResult | null>;
  /** lock.json, when the writer produced one. */
  lock(): Promise<LenientLock | null>;
  /**
   * The trials, in name order. Throws JobDirError when the directory holds neither trials nor a config.json (it is
   * not a job directory).
   */
  trials(): Promise<TrialListing>;
  /** The full read model of one trial, by directory name. */
  trial(name: string): Promise<TrialView>;
}

export interface TrialEntry {
  /** The trial directory's name (Harbor's `<task>__<id>`). */
  readonly name: string;
  /** Path of the trial directory. */
  readonly dir: string;
  /** What statistics need from its result.json. */
  readonly record: TrialRecord;
}

export interface TrialListing {
  /** Readable trials, in name order. */
  trials: TrialEntry[];
  /** The same trials' records (for stats/summary.ts). */
  records: TrialRecord[];
  /** Trials whose result.json could not be read, parsed or validated, in name order. */
  unreadable: UnreadableTrial[];
}

const lenient = (): Promise<typeof Lenient> => import("../harbor/lenient.js");

/** Opens the read model of a job directory; throws JobDirError when there is no such directory. */
export async function readJob(dir: string): Promise<JobView> {
  let isDir: boolean;
  try {
    isDir = (await stat(dir)).isDirectory();
  } catch {
    throw new JobDirError(`${dir}: no such job directory`);
  }
  if (!isDir) throw new JobDirError(`${dir}: not a directory`);
  const prefix = dir.endsWith("/") ? dir : `${dir}/`;

  return {
    dir,
    name: basename(resolve(dir)),
    config: once(async () => readOptionalJsonDocument(jobFile(dir, "config"), (await lenient()).lenientJobConfigSchema)),
    result: once(async () => readOptionalJsonDocument(jobFile(dir, "result"), (await lenient()).lenientJobResultSchema)),
    lock: once(async () => readOptionalJsonDocument(jobFile(dir, "lock"), (await lenient()).lenientLockSchema)),
    trials: once(async () => {
      const read = await readTrialRecords(dir);
      if (read.trials.length === 0 && read.unreadable.length === 0 && !existsSync(jobFile(dir, "config"))) {
        throw new JobDirError(`${dir}: not a job directory (no config.json and no trial result.json files)`);
      }
      const trials = new Array<TrialEntry>(read.trials.length);
      const records = new Array<TrialRecord>(read.trials.length);
      for (let i = 0; i < read.trials.length; i++) {
        const t = read.trials[i]!;
        trials[i] = { name: t.name, dir: prefix + t.name, record: t.record };
        records[i] = t.record;
      }
      return { trials, records, unreadable: read.unreadable };
    }),
    trial: async (name: string) => {
      const { readTrial } = await import("./trial.js");
      return readTrial(join(dir, name));
    },
  };
}

/** The records and unreadable trials of a job directory: `(await readJob(dir)).trials()` in one call. */
export async function readJobTrials(dir: string): Promise<{ records: TrialRecord[]; unreadable: UnreadableTrial[] }> {
  const { records, unreadable } = await (await readJob(dir)).trials();
  return { records, unreadable };
}

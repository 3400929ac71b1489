import { closeSync, openSync, readSync } from "node:fs";
import type { trialSummarySchema } from "../harbor/lenient.js";
import { fastTrialRecord, trialRecordFromSummary, type TrialRecord } from "../stats/records.js";
import { errorMessage } from "../util/errors.js";
import { fieldPath, isMissingFile } from "../util/json-file.js";
import { childDirNames, TRIAL_RESULT_FILE } from "./layout.js";

/** One readable trial of a job directory. */
export interface TrialRecordEntry {
  /** The trial directory's name (Harbor's `<task>__<id>`). */
  name: string;
  record: TrialRecord;
}

/** A trial directory whose result.json could not be read, parsed or validated. */
export interface UnreadableTrial {
  name: string;
  /** Path of the result.json. */
  file: string;
  /** What is wrong, naming the field when the document is malformed. */
  error: string;
}

export interface TrialRecordsRead {
  /** Readable trials in name order. */
  trials: TrialRecordEntry[];
  /** Unreadable trials in name order; never silently skipped. */
  unreadable: UnreadableTrial[];
}

/** A result.json the fast path could not take: the schema decides (settleTrialOutcomes). */
interface NeedsSchema {
  name: string;
  file: string;
  data: unknown;
}

/** What reading one trial directory gave; directories without result.json give nothing (they are not trials). */
export type TrialOutcome = TrialRecordEntry | UnreadableTrial | NeedsSchema;

// One read buffer for the whole listing: no per-file allocation or fstat (readFileSync does both).
const BUFFER_SIZE = 64 * 1024;
let buffer = Buffer.allocUnsafe(BUFFER_SIZE);

function readText(file: string): string {
  const fd = openSync(file, "r");
  try {
    let len = 0;
    for (;;) {
      if (len === buffer.length) {
        const bigger = Buffer.allocUnsafe(buffer.length * 2);
        buffer.copy(bigger, 0, 0, len);
        buffer = bigger;
      }
      const n = readSync(fd, buffer, len, buffer.length - len, null);
      if (n === 0) break;
      len += n;
    }
    const text = buffer.toString("utf8", 0, len);
    if (buffer.length > 16 * BUFFER_SIZE) buffer = Buffer.allocUnsafe(BUFFER_SIZE); // do not keep a huge one around
    return text;
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads the result.json of the given child directories of a job by the fast path (synchronously; parallel readers
 * call it on batches). Documents the fast path cannot take are returned for settleTrialOutcomes.
 */
export function readTrialBatch(jobDir: string, names: readonly string[]): TrialOutcome[] {
  // Hot loop (thousands of trials): plain string concatenation instead of path.join.
  const prefix = jobDir.endsWith("/") ? jobDir : `${jobDir}/`;
  const suffix = `/${TRIAL_RESULT_FILE}`;
  const outcomes: TrialOutcome[] = [];
  for (const name of names) {
    const file = prefix + name + suffix;
    let text: string;
    try {
      text = readText(file);
    } catch (err) {
      if (isMissingFile(err)) continue; // not a trial directory
      outcomes.push({ name, file, error: errorMessage(err) });
      continue;
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (err) {
      outcomes.push({ name, file, error: `not valid JSON (${errorMessage(err)})` });
      continue;
    }
    const record = fastTrialRecord(data, name);
    if (record) outcomes.push({ name, record });
    else outcomes.push({ name, file, data });
  }
  return outcomes;
}

/**
 * Validates the documents the fast path left with the zod schema (loaded only now, and only if needed) and splits
 * the outcomes into readable and unreadable trials, keeping their order.
 */
export async function settleTrialOutcomes(outcomes: readonly TrialOutcome[]): Promise<TrialRecordsRead> {
  const trials: TrialRecordEntry[] = [];
  const unreadable: UnreadableTrial[] = [];
  let schema: typeof trialSummarySchema | null = null;
  for (const o of outcomes) {
    if ("record" in o) trials.push(o);
    else if ("error" in o) unreadable.push(o);
    else {
      schema ??= (await import("../harbor/lenient.js")).trialSummarySchema;
      const parsed = schema.safeParse(o.data);
      if (parsed.success) trials.push({ name: o.name, record: trialRecordFromSummary(parsed.data, o.name) });
      else {
        const issue = parsed.error.issues[0]!;
        const field = fieldPath(issue.path);
        unreadable.push({ name: o.name, file: o.file, error: field ? `${field}: ${issue.message}` : issue.message });
      }
    }
  }
  return { trials, unreadable };
}

/**
 * Reads the result.json of every trial of a job directory (any child directory holding one) exactly once and
 * reduces it to a TrialRecord; nothing else of the trial is opened. Documents are read leniently
 * (harbor/lenient.ts trialSummarySchema): well-formed ones by the fast path (stats/records.ts), anything unusual by the zod schema, which is only
 * loaded when some trial needs it. Throws JobDirError when the job directory cannot be listed.
 */
export async function readTrialRecords(jobDir: string): Promise<TrialRecordsRead> {
  return settleTrialOutcomes(readTrialBatch(jobDir, childDirNames(jobDir)));
}

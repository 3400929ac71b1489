import { closeSync, openSync, readSync } from "node:fs";
import type { trialSummarySchema } from "../harbor/lenient.js";
import { fastTrialRecord, trialRecordFromSummary, type TrialRecord } from "../stats/records.js";
import { errorMessage } from "../util/errors.js";
import { fieldPath, isMissingFile } from "../util/json-file.js";
import { TRIAL_RESULT_FILE } from "../trial/paths.js";
import { childDirNames } from "./layout.js";

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
 * Reads the result.json of every trial of a job directory (any child directory holding one) exactly once and
 * reduces it to a TrialRecord; nothing else of the trial is opened. Documents are read leniently (harbor/lenient.ts
 * trialSummarySchema): well-formed ones by the fast path (stats/records.ts `fastTrialRecord`), anything unusual by
 * the zod schema, which is only loaded when some trial needs it. Unreadable trials are reported in name order, never
 * skipped. Throws JobDirError when the job directory cannot be listed.
 */
export async function readTrialRecords(jobDir: string): Promise<TrialRecordsRead> {
  // Hot loop (thousands of trials): plain string concatenation instead of path.join.
  const prefix = jobDir.endsWith("/") ? jobDir : `${jobDir}/`;
  const suffix = `/${TRIAL_RESULT_FILE}`;
  const trials: TrialRecordEntry[] = [];
  const unreadable: UnreadableTrial[] = [];
  for (const name of childDirNames(jobDir)) {
    const file = prefix + name + suffix;
    let data: unknown;
    try {
      data = JSON.parse(readText(file));
    } catch (err) {
      if (isMissingFile(err)) continue; // not a trial directory
      unreadable.push({ name, file, error: err instanceof SyntaxError ? `not valid JSON (${err.message})` : errorMessage(err) });
      continue;
    }
    const fast = fastTrialRecord(data, name);
    const outcome = fast ? { record: fast } : await recordFromSchema(data, name);
    if ("record" in outcome) trials.push({ name, record: outcome.record });
    else unreadable.push({ name, file, error: outcome.error });
  }
  return { trials, unreadable };
}

let schema: typeof trialSummarySchema | null = null;

/** The slow path: the lenient zod schema (loaded on first use) decides, naming the first bad field. */
async function recordFromSchema(data: unknown, name: string): Promise<{ record: TrialRecord } | { error: string }> {
  schema ??= (await import("../harbor/lenient.js")).trialSummarySchema;
  const parsed = schema.safeParse(data);
  if (parsed.success) return { record: trialRecordFromSummary(parsed.data, name) };
  const issue = parsed.error.issues[0]!;
  const field = fieldPath(issue.path);
  return { error: field ? `${field}: ${issue.message}` : issue.message };
}

/**
 * A parsed trial result.json as a TrialRecord, the way readTrialRecords reads it (fast path first, then the
 * schema); `{ error }` names what is wrong when the document is malformed.
 */
export async function trialRecordFromJson(data: unknown, name: string): Promise<{ record: TrialRecord } | { error: string }> {
  const fast = fastTrialRecord(data, name);
  return fast ? { record: fast } : recordFromSchema(data, name);
}

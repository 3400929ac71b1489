import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { ValidationRecord } from "./compose.js";
import type { TaskSpec } from "./sample.js";

/** One spec's outcome in a corpus build (corpus/manifest.jsonl; the last line for a spec wins). */
export interface ManifestEntry {
  spec_id: string;
  index: number;
  status: "accepted" | "rejected";
  /** Rejection reason (e.g. build_failed, parse_error:tests, solution_fails); null when accepted. */
  reason: string | null;
  /** The stage that failed last; null when accepted. */
  stage: string | null;
  /** Last error text (what was sent back to the model), cut to a few KB. */
  detail: string | null;
  /** Task directory name when accepted. */
  task: string | null;
  model: string;
  tokens: { prompt: number; completion: number };
  cost_usd: number | null;
  timings: { generation_s: number; validation_s: number; total_s: number };
  /** LLM calls per stage (first tries, parse retries and repairs). */
  calls: Record<string, number>;
  repairs: number;
  validation: ValidationRecord | null;
  /** Stages reached and passed, in order, for survival reports. */
  stages_passed: string[];
  spec: TaskSpec;
  finished_at: string;
}

export const MANIFEST = "manifest.jsonl";

/** Reads the manifest; a malformed line is reported with its number, never skipped silently. */
export function readManifest(corpusDir: string): Map<string, ManifestEntry> {
  const path = join(corpusDir, MANIFEST);
  const out = new Map<string, ManifestEntry>();
  if (!existsSync(path)) return out;
  const lines = readFileSync(path, "utf8").split("\n");
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let e: ManifestEntry;
    try {
      e = JSON.parse(line) as ManifestEntry;
    } catch (err) {
      // A line cut by a crash mid-append is the only expected damage; it is the last one.
      if (i >= lines.length - 2) return;
      throw new Error(`${path}:${i + 1}: not valid JSON (${(err as Error).message})`);
    }
    out.set(e.spec_id, e);
  });
  return out;
}

/** Appends one entry as a single write (one line), so a crash never leaves a half-written earlier entry. */
export function appendManifest(corpusDir: string, entry: ManifestEntry): void {
  appendFileSync(join(corpusDir, MANIFEST), JSON.stringify(entry) + "\n");
}

/** Reads a specs file (JSONL); errors name the line. */
export function readSpecs(path: string): TaskSpec[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new Error(`${path}: cannot read the specs file`);
  }
  const specs: TaskSpec[] = [];
  text.split("\n").forEach((line, i) => {
    if (!line.trim()) return;
    let s: TaskSpec;
    try {
      s = JSON.parse(line) as TaskSpec;
    } catch (err) {
      throw new Error(`${path}:${i + 1}: not valid JSON (${(err as Error).message})`);
    }
    for (const key of ["id", "domain", "skills", "task_complexity", "verifier_kind", "fixture_kind", "language"] as const) {
      if (s[key] === undefined) throw new Error(`${path}:${i + 1}: spec has no "${key}" (was it written by \`tmax gen sample\`?)`);
    }
    specs.push(s);
  });
  const ids = new Set<string>();
  for (const s of specs) {
    if (ids.has(s.id)) throw new Error(`${path}: spec id ${s.id} appears twice`);
    ids.add(s.id);
  }
  return specs;
}

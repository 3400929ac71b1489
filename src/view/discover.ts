import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { TrialIndex } from "../store/trial-index.js";

/**
 * Finds what the viewer shows under its roots, walking directories (hidden ones and node_modules skipped, at most
 * MAX_DEPTH levels down):
 *
 * - a job directory (tmax's or Harbor's): a directory with at least one child holding result.json (a trial). Its
 *   children are trials, so the walk does not descend into it;
 * - a training run (`tmax train --out`): a directory holding metrics.jsonl. The walk goes on inside it (eval jobs
 *   may live there);
 * - a generated corpus (`tmax gen build`): a directory holding manifest.jsonl. Its children are tasks: the walk stops.
 *
 * Only directory listings and stats: no file is read.
 */

export interface Found {
  /** Absolute paths, in walk order (name order at every level). */
  jobs: string[];
  runs: string[];
  corpora: string[];
}

/**
 * rl/train/train-run.ts's METRICS_FILE and store/corpus.ts's MANIFEST_FILE, not imported: those modules load the
 * trainer and the schema library, which listing jobs does not need (the server starts faster without them).
 */
const METRICS_FILE = "metrics.jsonl";
export const MANIFEST_FILE = "manifest.jsonl";
const MAX_DEPTH = 6;
const SKIPPED = new Set(["node_modules"]);

export async function discover(roots: readonly string[]): Promise<Found[]> {
  return Promise.all(roots.map(async (root) => {
    const found: Found = { jobs: [], runs: [], corpora: [] };
    await walk(root, 0, found);
    return found;
  }));
}

async function walk(dir: string, depth: number, found: Found): Promise<void> {
  if (TrialIndex.hasTrials(dir)) {
    found.jobs.push(dir);
    return;
  }
  if (existsSync(join(dir, MANIFEST_FILE))) {
    found.corpora.push(dir);
    return;
  }
  if (existsSync(join(dir, METRICS_FILE))) found.runs.push(dir);
  if (depth >= MAX_DEPTH) return;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return; // unreadable: nothing to show
  }
  const children = entries.filter((e) => e.isDirectory() && !e.name.startsWith(".") && !SKIPPED.has(e.name)).map((e) => e.name).sort();
  for (const name of children) await walk(join(dir, name), depth + 1, found);
}

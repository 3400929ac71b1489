import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { isMissingFile } from "../util/json-file.js";

/**
 * The read side of a `tmax train` output dir (rl/train/train-run.ts writes it): metrics.jsonl, one JSON object per
 * training step, and rollouts/step_N/ directories. Rows are kept as plain objects (the store sits below rl/, which
 * owns the StepMetrics type). A run in progress may be caught mid-append: see parseTrainMetrics.
 */

export const TRAIN_METRICS_FILE = "metrics.jsonl";

/**
 * metrics.jsonl's text as rows. Each line is written with its newline in one append, so a last line without one was
 * caught mid-append or cut short by a hard kill: `torn` says so, and the line counts only if it parses (no proper
 * prefix of a JSON object does). A malformed line before it throws, naming the file and the line.
 */
export function parseTrainMetrics(text: string, file: string): { rows: Record<string, unknown>[]; torn: boolean } {
  const lines = text.split("\n");
  const tail = lines.pop()!; // "" when the text ends with its newline
  const rows: Record<string, unknown>[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    try {
      rows.push(JSON.parse(line) as Record<string, unknown>);
    } catch (err) {
      throw new Error(`${file}:${i + 1}: not valid JSON (${(err as Error).message})`, { cause: err });
    }
  });
  const torn = tail.trim() !== "";
  if (torn) {
    try {
      rows.push(JSON.parse(tail) as Record<string, unknown>);
    } catch {
      // being written, or cut short
    }
  }
  return { rows, torn };
}

/** metrics.jsonl of a run dir, parsed (parseTrainMetrics); no rows and not torn without the file. */
export async function readTrainMetricsFile(runDir: string): Promise<{ rows: Record<string, unknown>[]; torn: boolean }> {
  const file = join(runDir, TRAIN_METRICS_FILE);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if (isMissingFile(err)) return { rows: [], torn: false };
    throw err;
  }
  return parseTrainMetrics(text, file);
}

/** Every complete line of metrics.jsonl, in order; [] without the file. */
export async function readTrainMetrics(runDir: string): Promise<Record<string, unknown>[]> {
  return (await readTrainMetricsFile(runDir)).rows;
}

/** Step numbers with a rollouts/step_N directory, ascending. */
export async function rolloutSteps(runDir: string): Promise<number[]> {
  try {
    const names = await readdir(join(runDir, "rollouts"));
    return names.map((n) => /^step_(\d+)$/.exec(n)?.[1]).filter((n): n is string => n !== undefined).map(Number).sort((a, b) => a - b);
  } catch {
    return [];
  }
}

/** rl/train/train-run.ts's CONFIG_FILE: the resolved config the run was started with. */
export const TRAIN_CONFIG_FILE = "train-config.json";

/** The model dir the run's train-config.json names (its tokenizer decodes the rollouts); null when unknown. */
export async function trainModelDir(runDir: string): Promise<string | null> {
  try {
    const config = JSON.parse(await readFile(join(runDir, TRAIN_CONFIG_FILE), "utf8")) as { model_dir?: unknown };
    return typeof config.model_dir === "string" ? config.model_dir : null;
  } catch {
    return null;
  }
}

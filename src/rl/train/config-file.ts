import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { parseTrainConfig, TrainConfigError, type TrainConfig } from "./train-config.js";

/**
 * A training config from a YAML (or JSON) file overlaid with flags. Relative paths in the file (tasks, model_dir,
 * out) are resolved against the file's directory; those given as flags against the working directory.
 */

const PATH_KEYS = ["tasks", "model_dir", "out", "eval_dataset"] as const;

function resolvePaths(values: Record<string, unknown>, base: string): Record<string, unknown> {
  const out = { ...values };
  for (const key of PATH_KEYS) {
    const v = out[key];
    if (typeof v === "string" && !isAbsolute(v)) out[key] = resolve(base, v);
  }
  return out;
}

export async function loadTrainConfig(file: string | undefined, flags: Record<string, unknown>): Promise<TrainConfig> {
  let fromFile: Record<string, unknown> = {};
  if (file !== undefined) {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (err) {
      throw new TrainConfigError(`${file}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : String(err)}`);
    }
    let parsed: unknown;
    try {
      parsed = parseYaml(text);
    } catch (err) {
      throw new TrainConfigError(`${file}: not valid YAML: ${(err as Error).message}`);
    }
    if (parsed !== null && (typeof parsed !== "object" || Array.isArray(parsed))) throw new TrainConfigError(`${file}: the config must be a mapping of keys to values`);
    fromFile = resolvePaths((parsed ?? {}) as Record<string, unknown>, dirname(resolve(file)));
  }
  const merged = { ...fromFile, ...resolvePaths(flags, process.cwd()) };
  return parseTrainConfig(merged, file ?? "tmax train");
}

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "smol-toml";

export interface AdhocTaskSpec {
  /** The container image to work in. */
  image: string;
  instruction: string;
  allowInternet: boolean;
  workdir?: string | null;
}

/**
 * Writes a throwaway Harbor task around an image — the instruction, a prebuilt image, and a tests/test.sh that
 * writes no reward (ad-hoc runs are not verified) — into `<dir>/adhoc`, so an ad-hoc run goes through the same trial
 * lifecycle and job layout as any other. Returns the task directory.
 */
export function writeAdhocTask(dir: string, spec: AdhocTaskSpec): string {
  const task = join(dir, "adhoc");
  mkdirSync(join(task, "environment"), { recursive: true });
  mkdirSync(join(task, "tests"), { recursive: true });
  const environment: Record<string, unknown> = { docker_image: spec.image, allow_internet: spec.allowInternet };
  if (spec.workdir) environment.workdir = spec.workdir;
  writeFileSync(join(task, "task.toml"), stringify({ schema_version: "1.1", environment }) + "\n");
  writeFileSync(join(task, "instruction.md"), spec.instruction + "\n");
  writeFileSync(join(task, "tests", "test.sh"), "#!/bin/bash\n# ad-hoc runs are not verified\n");
  return task;
}

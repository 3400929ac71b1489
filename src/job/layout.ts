import { readdirSync } from "node:fs";
import { join } from "node:path";

/**
 * Harbor's job directory layout (harbor-format.md §6), shared by the runner (job/), resume and the read model
 * (store/):
 *
 *   <job>/config.json  lock.json  result.json  job.log
 *   <job>/<trial>/     one trial: a child directory holding result.json (trial/paths.ts has its files)
 *
 * and, while a tmax run writes the directory, tmax's own `.tmax-run.lock` (run-lock.ts).
 */
export const JOB_FILES = {
  config: "config.json",
  lock: "lock.json",
  result: "result.json",
  log: "job.log",
  runLock: ".tmax-run.lock",
} as const;

export function jobFile(jobDir: string, which: keyof typeof JOB_FILES): string {
  return join(jobDir, JOB_FILES[which]);
}

/** A job directory that does not exist or cannot be listed. */
export class JobDirError extends Error {
  override name = "JobDirError";
}

/**
 * Names of the child directories of a job, in name order: the candidates for trials (a trial is one holding
 * result.json; readers find out by reading it, without a separate existence check). Throws JobDirError when the
 * job directory does not exist or is not a directory.
 */
export function childDirNames(jobDir: string): string[] {
  let entries;
  try {
    entries = readdirSync(jobDir, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new JobDirError(`${jobDir}: no such job directory`);
    if (code === "ENOTDIR") throw new JobDirError(`${jobDir}: not a directory`);
    throw new JobDirError(`${jobDir}: cannot list the job directory (${(err as Error).message})`);
  }
  const names: string[] = [];
  for (const e of entries) if (e.isDirectory()) names.push(e.name);
  return names.sort();
}

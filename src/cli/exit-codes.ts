/**
 * One convention for every command's exit code. Results go to stdout (tables, reports, `--json`); progress,
 * warnings and errors go to stderr.
 */
export const EXIT = {
  /** The command did what it was asked. */
  ok: 0,
  /** It ran but failed (a task, a job, an input it read), or found problems (`tasks check`). */
  failure: 1,
  /** The command line was wrong: an unknown option, a missing argument, an invalid value. */
  usage: 2,
  /** Stopped by Ctrl-C / SIGTERM after cleaning up (128 + SIGINT); the work can be resumed. */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A problem with the command line found by a handler (not by the parser): printed, and the exit code is 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

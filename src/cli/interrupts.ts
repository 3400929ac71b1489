import pc from "picocolors";

/** How often a command started by `npx` checks that npx is still there. */
const PARENT_CHECK_MS = 500;

/**
 * Ctrl-C / SIGTERM for long commands: the first signal aborts `signal` (work stops cleanly, containers are removed,
 * state stays resumable); a second one runs `force` (e.g. remove containers now) and exits with 130.
 *
 * Under `npx tmax …` the signal may never arrive: npm does not pass a SIGINT or SIGTERM sent to npx itself on to
 * tmax, and on SIGTERM npx exits at once and leaves tmax running. A terminal's Ctrl-C reaches tmax anyway (it goes to
 * the whole process group); for the rest, a command started by npx treats npx going away as a SIGTERM.
 *
 * A broken output pipe (`tmax run … | head`, or `| tee log` when Ctrl-C ends tee first) is an interrupt too: the
 * first write that finds the reader gone aborts `signal` once, as a first Ctrl-C does, and later ones are ignored.
 * Without this, node ends the process on that write's EPIPE, before anything is cleaned up.
 */
export function handleInterrupts(message: string, force: () => Promise<void> = () => Promise.resolve()): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals | "npx exited"): void => {
    if (!controller.signal.aborted) {
      console.error(pc.yellow(`\n${sig}: ${message} (again to force)`));
      controller.abort(new Error(`interrupted by ${sig}`));
      return;
    }
    console.error(pc.red("forced exit: removing containers"));
    void force().finally(() => process.exit(130));
  };
  const onOutputError = (err: NodeJS.ErrnoException): void => {
    if (err.code !== "EPIPE") throw err;
    if (controller.signal.aborted) return;
    console.error(pc.yellow(`\noutput pipe closed: ${message}`)); // stderr may still be there (only stdout was piped)
    controller.abort(new Error("interrupted: the output pipe closed"));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.stdout.on("error", onOutputError);
  process.stderr.on("error", onOutputError);
  const watch = startedByNpx() ? watchParent(() => onSignal("npx exited")) : null;
  return {
    signal: controller.signal,
    dispose: () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      process.stdout.off("error", onOutputError);
      process.stderr.off("error", onOutputError);
      if (watch) clearInterval(watch);
    },
  };
}

/** npm sets npm_command for the commands it runs; `npx` is `npm exec`. */
function startedByNpx(): boolean {
  return process.env.npm_command === "exec";
}

/** Calls `gone` once when this process's parent changes (npx and the shell it ran tmax under have exited). */
function watchParent(gone: () => void): NodeJS.Timeout {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    gone();
  }, PARENT_CHECK_MS);
  timer.unref();
  return timer;
}

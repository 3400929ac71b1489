import pc from "picocolors";

/**
 * Ctrl-C / SIGTERM for long commands: the first signal aborts `signal` (work stops cleanly, containers are removed,
 * state stays resumable); a second one runs `force` (e.g. remove containers now) and exits with 130.
 */
export function handleInterrupts(message: string, force: () => Promise<void> = () => Promise.resolve()): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals): void => {
    if (!controller.signal.aborted) {
      console.error(pc.yellow(`\n${sig}: ${message} (again to force)`));
      controller.abort(new Error(`interrupted by ${sig}`));
      return;
    }
    console.error(pc.red("forced exit: removing containers"));
    void force().finally(() => process.exit(130));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    },
  };
}

import { spawn } from "node:child_process";
import type { Environment, ExecOptions, ExecResult } from "../../src/environment/environment.js";
import { setLongTimeout } from "../../src/util/timers.js";

/**
 * An Environment whose commands run as local `bash -c` processes in `cwd` — for testing adapters (the tmax agent)
 * without containers. Only exec is supported; file transfer methods throw. Use harmless commands only.
 */
export function localEnvironment(cwd: string): Environment & { commands: string[] } {
  const commands: string[] = [];
  const unsupported = (): Promise<never> => Promise.reject(new Error("not supported by the local test environment"));
  return {
    id: "local",
    mounted: true,
    commands,
    start: () => Promise.resolve(),
    stop: () => Promise.resolve(),
    uploadFile: unsupported,
    uploadDir: unsupported,
    downloadFile: unsupported,
    downloadDir: unsupported,
    isDir: unsupported,
    isFile: unsupported,
    exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
      commands.push(command);
      const started = performance.now();
      return new Promise((resolve, reject) => {
        const child = spawn("bash", ["-c", command], { cwd: opts.cwd ?? cwd, env: { ...process.env, ...opts.env }, detached: true });
        let stdout = "";
        let stderr = "";
        let timedOut = false;
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        const kill = (): void => {
          if (child.pid) process.kill(-child.pid, "SIGKILL");
        };
        const timer = opts.timeoutSec != null ? setLongTimeout(() => ((timedOut = true), kill()), opts.timeoutSec * 1000) : null;
        const onAbort = (): void => kill();
        opts.signal?.addEventListener("abort", onAbort, { once: true });
        child.once("close", (code) => {
          timer?.clear();
          opts.signal?.removeEventListener("abort", onAbort);
          if (opts.signal?.aborted) return reject(opts.signal.reason);
          resolve({ stdout, stderr, returnCode: timedOut ? 124 : (code ?? 1), timedOut, stdoutDropped: 0, stderrDropped: 0, durationSec: (performance.now() - started) / 1000 });
        });
      });
    },
  };
}

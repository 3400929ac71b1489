import { randomBytes } from "node:crypto";
import type { Environment } from "../../environment/environment.js";

/** What one command produced. */
export interface ShellResult {
  stdout: string;
  stderr: string;
  /** The command's exit status; 124 when the timeout killed it. */
  exitCode: number;
  timedOut: boolean;
  /** Output characters dropped before they reached us (flood protection); they count toward truncation. */
  dropped: number;
  durationSec: number;
}

/**
 * Where an episode's commands run. `run` resolves once the command has ended — by itself, or killed (with whatever it
 * started) when `timeoutSec` passed, then with `timedOut: true` and exit code 124; it never waits longer than that.
 * On abort it stops the command and rejects with the signal's reason.
 */
export interface Shell {
  run(command: string, opts: { timeoutSec: number; signal: AbortSignal }): Promise<ShellResult>;
}

/** Bytes of stdout and of stderr kept per command (head and tail halves); observations need far less. */
const MAX_OUTPUT_BYTES = 2 * 1024 * 1024;

/**
 * A persistent shell emulated over independent execs of an Environment: after every command the working directory
 * and the exported variables are saved to a state directory in the container, and restored before the next one.
 * Each command is a separate process group, so a timeout kills it (and whatever it started) without touching the next
 * command. Shell functions, aliases, unexported variables and shell options do not persist.
 */
export class PersistentShell implements Shell {
  readonly stateDir: string;

  constructor(
    private readonly env: Environment,
    private readonly opts: { user?: string | number | null } = {},
  ) {
    this.stateDir = `/tmp/.tmax-shell-${randomBytes(4).toString("hex")}`;
  }

  /** Creates the state directory with the initial cwd and environment (10 s limit). */
  async setup(signal?: AbortSignal): Promise<void> {
    const d = this.stateDir;
    const r = await this.env.exec(`mkdir -p ${d} && pwd > ${d}/cwd && export -p > ${d}/env`, {
      user: this.opts.user,
      timeoutSec: 10,
      signal,
    });
    if (r.returnCode !== 0) throw new Error(`could not set up the shell state in ${d}: ${(r.stderr || r.stdout).trim()}`);
  }

  /** The script a command runs in: restore state, eval the command (base64, so quoting cannot break), save state. */
  script(command: string): string {
    const d = this.stateDir;
    const encoded = Buffer.from(command, "utf8").toString("base64");
    return [
      `cd "$(cat ${d}/cwd 2>/dev/null)" 2>/dev/null`,
      `. ${d}/env 2>/dev/null`,
      `eval "$(printf '%s' '${encoded}' | base64 -d)"`,
      `__tmax_status=$?`,
      `pwd > ${d}/cwd 2>/dev/null; export -p > ${d}/env 2>/dev/null`,
      `exit $__tmax_status`,
    ].join("\n");
  }

  async run(command: string, opts: { timeoutSec: number; signal: AbortSignal }): Promise<ShellResult> {
    const r = await this.env.exec(this.script(command), {
      user: this.opts.user,
      timeoutSec: opts.timeoutSec,
      signal: opts.signal,
      maxOutputBytes: MAX_OUTPUT_BYTES,
    });
    return {
      stdout: r.stdout,
      stderr: r.stderr,
      exitCode: r.returnCode,
      timedOut: r.timedOut,
      dropped: r.stdoutDropped + r.stderrDropped,
      durationSec: r.durationSec,
    };
  }
}

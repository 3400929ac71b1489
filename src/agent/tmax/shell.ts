import { randomBytes } from "node:crypto";
import type { Environment, ExecResult } from "../../environment/environment.js";

/** Bytes of stdout and of stderr kept per command (head and tail halves); observations need far less. */
const MAX_OUTPUT_BYTES = 2 * 1024 * 1024;

/**
 * A persistent shell emulated over independent execs: after every command the working directory and the exported
 * variables are saved to a state directory in the container, and restored before the next one. Each command is a
 * separate process group, so a timeout kills it (and whatever it started) without touching the next command.
 */
export class PersistentShell {
  readonly stateDir: string;

  constructor(
    private readonly env: Environment,
    private readonly opts: { user?: string | number | null; timeoutSec: number },
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

  run(command: string, signal?: AbortSignal): Promise<ExecResult> {
    return this.env.exec(this.script(command), {
      user: this.opts.user,
      timeoutSec: this.opts.timeoutSec,
      signal,
      maxOutputBytes: MAX_OUTPUT_BYTES,
    });
  }
}

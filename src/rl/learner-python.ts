import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The learner is a Python package (learner/, installed into the repository's .venv by scripts/setup.sh); tmax runs it
 * as `python -m tmax_learner <command>`. This module finds that Python and runs it.
 */

/** The repository root: this file is src/rl/learner-python.ts, compiled to dist/rl/learner-python.js. */
const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Where the interpreter comes from: the TMAX_PYTHON override, or the project virtualenv. */
export interface LearnerPython {
  command: string;
  source: "TMAX_PYTHON" | ".venv";
}

const SETUP_HINT = "run `bash scripts/setup.sh` to create it (or point TMAX_PYTHON at a Python with tmax_learner installed)";

/** TMAX_PYTHON if set (a path, or a command on PATH), else `<repo>/.venv/bin/python`, which must exist. */
export function findLearnerPython(env: NodeJS.ProcessEnv = process.env, repoRoot: string = REPO_ROOT): LearnerPython {
  const override = env.TMAX_PYTHON;
  if (override) {
    if (override.includes("/") && !existsSync(override)) throw new Error(`TMAX_PYTHON=${override}: no such file`);
    return { command: override, source: "TMAX_PYTHON" };
  }
  const venvPython = join(repoRoot, ".venv", "bin", "python");
  if (!existsSync(venvPython)) throw new Error(`the learner's Python environment is missing (no ${venvPython}): ${SETUP_HINT}`);
  return { command: venvPython, source: ".venv" };
}

/**
 * Runs `python -m tmax_learner ...args` in the current directory: its stdout streams into `stdout`, its stderr goes
 * straight to ours. Resolves with its exit code (128 + n when a signal n ended it). Aborting `signal` sends SIGTERM.
 */
export function runLearnerModule(
  python: LearnerPython,
  args: string[],
  opts: { stdout: NodeJS.WritableStream; signal?: AbortSignal },
): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(python.command, ["-m", "tmax_learner", ...args], { stdio: ["ignore", "pipe", "inherit"] });
    const onAbort = (): void => void child.kill("SIGTERM");
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    child.stdout.pipe(opts.stdout, { end: false });
    child.once("error", (err: NodeJS.ErrnoException) => {
      opts.signal?.removeEventListener("abort", onAbort);
      reject(learnerStartError(python, err));
    });
    child.once("close", (code, sig) => {
      opts.signal?.removeEventListener("abort", onAbort);
      resolve(code ?? 128 + (sig ? signalNumber(sig) : 0));
    });
  });
}

/**
 * How the learner's processes are launched: one Python process, or `torchrun` (run as `python -m
 * torch.distributed.run`, so it is the same interpreter's) with `processes` ranks on this node. `torchrunArgs`
 * replaces the default `--standalone` (single node, a free rendezvous port) — e.g. `--nnodes 2 --node-rank 0
 * --rdzv-endpoint host:29400` for several nodes.
 */
export interface LearnerLaunch {
  processes?: number;
  torchrunArgs?: readonly string[];
}

/** The argv (after the interpreter) that runs `tmax_learner ...args` under `launch`. */
export function learnerArgv(args: readonly string[], launch: LearnerLaunch = {}): string[] {
  const processes = launch.processes ?? 1;
  if (!Number.isSafeInteger(processes) || processes < 1) throw new RangeError(`learner processes must be an integer ≥ 1, not ${processes}`);
  if (processes === 1 && launch.torchrunArgs === undefined) return ["-m", "tmax_learner", ...args];
  const torchrun = launch.torchrunArgs ?? ["--standalone"];
  return ["-m", "torch.distributed.run", ...torchrun, "--nproc-per-node", String(processes), "-m", "tmax_learner", ...args];
}

/**
 * Starts the learner with stdin, stdout and stderr all piped to the caller, as the leader of a process group of its
 * own: under torchrun the ranks are its children, and `killLearnerGroup` ends them all at once.
 */
export function spawnLearnerModule(python: LearnerPython, args: string[], launch: LearnerLaunch = {}): ChildProcessWithoutNullStreams {
  return spawn(python.command, learnerArgv(args, launch), { stdio: "pipe", detached: true });
}

/** SIGKILL to the learner's whole process group (its torchrun ranks included); a no-op once it is gone. */
export function killLearnerGroup(child: { pid?: number | undefined }): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}

/** The error to report when the learner's Python could not be started (the child's "error" event). */
export function learnerStartError(python: LearnerPython, err: NodeJS.ErrnoException): Error {
  const hint = python.source === ".venv" ? SETUP_HINT : "check TMAX_PYTHON";
  return new Error(`cannot start the learner's Python (${python.command}): ${err.code ?? err.message}; ${hint}`);
}

function signalNumber(sig: NodeJS.Signals): number {
  const numbers: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };
  return numbers[sig] ?? 0;
}

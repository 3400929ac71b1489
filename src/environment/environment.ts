import type { Task } from "../task/task.js";

export interface ExecOptions {
  /** Working directory; defaults to the task's [environment].workdir or the image WORKDIR. */
  cwd?: string;
  env?: Record<string, string>;
  user?: string | number | null;
  /** Seconds before the command's whole process group is killed; null/undefined = no limit. */
  timeoutSec?: number | null;
  /** Aborting kills the command like a timeout, then exec rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Bytes of stdout and of stderr kept in memory (head and tail halves); the rest is dropped and counted. */
  maxOutputBytes?: number;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** The command's exit status; 124 when it was killed by the timeout (as coreutils `timeout`). */
  returnCode: number;
  timedOut: boolean;
  /** Bytes dropped from the middle of stdout / stderr because of maxOutputBytes. */
  stdoutDropped: number;
  stderrDropped: number;
  durationSec: number;
}

/**
 * One sandbox for one trial. Every exec is `bash -c <command>`. A timeout kills the command's process group and
 * resolves with `timedOut: true` and return code 124; it never leaves the caller waiting.
 */
export interface Environment {
  readonly id: string;
  /** True when /logs/{agent,verifier,artifacts} are bind mounts of the trial dirs (no download needed). */
  readonly mounted: boolean;
  start(opts?: { forceBuild?: boolean; signal?: AbortSignal }): Promise<void>;
  exec(command: string, opts?: ExecOptions): Promise<ExecResult>;
  uploadFile(src: string, dst: string): Promise<void>;
  /** Copies the contents of the host dir `srcDir` into `dstDir` (created if missing). */
  uploadDir(srcDir: string, dstDir: string): Promise<void>;
  downloadFile(src: string, dst: string): Promise<void>;
  /** Copies the contents of the container dir `srcDir` into the host dir `dstDir`. */
  downloadDir(srcDir: string, dstDir: string): Promise<void>;
  isDir(path: string): Promise<boolean>;
  isFile(path: string): Promise<boolean>;
  /** Stops the sandbox; removes it unless `delete` is false. Safe to call twice. */
  stop(opts?: { delete?: boolean }): Promise<void>;
}

/** Host dirs that appear inside the container as /logs/agent, /logs/verifier and /logs/artifacts. */
export interface LogMounts {
  agent: string;
  verifier: string;
  artifacts: string;
}

export interface EnvironmentSpec {
  task: Task;
  /** Used for container names and labels. */
  trialName: string;
  jobId?: string;
  logs: LogMounts;
  overrides?: { cpus?: number | null; memoryMb?: number | null; storageMb?: number | null };
  /** Extra environment for the container (on top of the task's [environment].env). */
  env?: Record<string, string>;
  /** Where build output and environment notes go (the trial log). */
  log?: (line: string) => void;
}

/** A container backend (podman, docker): makes environments and owns shared resources such as the image cache. */
export interface EnvironmentProvider {
  readonly name: string;
  createEnvironment(spec: EnvironmentSpec): Environment;
  /** Builds or finds the task's image ahead of time (optional warm-up; start() does it too). */
  prepareImage(task: Task, opts?: { forceBuild?: boolean; signal?: AbortSignal; log?: (line: string) => void }): Promise<string>;
  /** Removes every container this provider started that is still around. */
  removeAll(): Promise<void>;
  /** Releases the backend (e.g. stops a podman service this provider started). */
  close(): Promise<void>;
}

export const LOG_DIRS = { agent: "/logs/agent", verifier: "/logs/verifier", artifacts: "/logs/artifacts" } as const;

import type { HostPattern } from "../util/host-pattern.js";
import type { Readable } from "node:stream";

export interface ExecOptions {
  /** Working directory; defaults to the spec's workdir or the image WORKDIR. */
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
  /**
   * Set when the engine under this environment stopped answering (several-engine pools only): whatever failed since
   * is the infrastructure's fault, and the trial is void.
   */
  readonly engineLost?: Error | null;
  start(opts?: { forceBuild?: boolean; signal?: AbortSignal }): Promise<void>;
  exec(command: string, opts?: ExecOptions): Promise<ExecResult>;
  uploadFile(src: string, dst: string): Promise<void>;
  /**
   * Copies the contents of the host dir `srcDir` into `dstDir` (created if missing); files for which `exclude` (given
   * a file's `/`-separated path relative to `srcDir`) is true are left out.
   */
  uploadDir(srcDir: string, dstDir: string, opts?: UploadDirOptions): Promise<void>;
  downloadFile(src: string, dst: string): Promise<void>;
  /** Copies the contents of the container dir `srcDir` into the host dir `dstDir`. */
  downloadDir(srcDir: string, dstDir: string): Promise<void>;
  isDir(path: string): Promise<boolean>;
  isFile(path: string): Promise<boolean>;
  /** Stops the sandbox; removes it unless `delete` is false. Safe to call twice. */
  stop(opts?: { delete?: boolean }): Promise<void>;
}

export interface UploadDirOptions {
  exclude?: ((relPath: string) => boolean) | null;
}

/** Host dirs that appear inside the container as /logs/agent, /logs/verifier and /logs/artifacts. */
export interface LogMounts {
  agent: string;
  verifier: string;
  artifacts: string;
}

/**
 * Where an environment's image comes from.
 * - `build`: built from `context` (a directory holding a `Dockerfile`), tagged `tmax-env:<content hash of context>`
 *   so identical contexts share one image across tasks, jobs and processes.
 * - `image`: a named image, used if present locally, else pulled. When it can be neither found nor pulled, or when
 *   the caller asks for `forceBuild`, `fallbackContext` (if given) is built instead. `files` (if given) is a host
 *   directory whose contents are copied into the workdir once the container has started, whichever image was used.
 */
export type ImageSource =
  | { kind: "build"; context: string }
  | { kind: "image"; name: string; fallbackContext?: string | null; files?: string | null };

/**
 * Limits of the container; null = no limit. `cpus` must not exceed the host's CPU count (the engine refuses it;
 * callers cap it). `storageMb` and `gpus` are recorded but not enforced by the container backend yet.
 */
export interface Resources {
  cpus: number | null;
  memoryMb: number | null;
  storageMb: number | null;
  gpus: number | null;
}

/**
 * What the container may reach: `open` = the engine's default network, `none` = loopback only, `allowlist` = only
 * the hosts matching `hosts`, through an egress proxy (HTTP_PROXY and friends are set in the container; any other
 * way out is blocked, see egress-gate.ts). An empty `hosts` denies all egress. Providers switch on `mode`
 * exhaustively and refuse a mode they cannot enforce rather than run with more network than asked.
 */
export type NetworkPolicy = { mode: "open" } | { mode: "none" } | { mode: "allowlist"; hosts: HostPattern[] };

/** When a service counts as up for those that depend on it (docker compose's depends_on conditions). */
export type ServiceCondition = "service_started" | "service_healthy" | "service_completed_successfully";

/**
 * A container beside the main one (a task's docker-compose.yaml service: a database, a web server, …), on a private
 * network shared with the main container, where each is reachable by its service name (the main one as `main`).
 */
export interface ServiceSpec {
  name: string;
  image: ImageSource;
  env: Record<string, string>;
  /** Overrides the image's CMD / ENTRYPOINT (null = the image's). */
  command: string[] | null;
  entrypoint: string[] | null;
  workdir: string | null;
  user: string | null;
  /** Started after these, once each meets its condition. */
  dependsOn: { service: string; condition: ServiceCondition }[];
  /** Run in the service to tell when it is healthy (for service_healthy). */
  healthcheck: { command: string[]; intervalSec: number; timeoutSec: number; retries: number; startPeriodSec: number } | null;
}

/** A host path or a named volume mounted into the container besides /logs (`--mounts-json`). */
export interface ExtraMount {
  type: "bind" | "volume";
  /** An absolute host path (bind) or a volume name. */
  source: string;
  target: string;
  readOnly: boolean;
  /** Bind only: create the host directory when nothing is there (Harbor's default; `create_host_path: false` turns it off). */
  createHostPath: boolean;
  /** Bind only: SELinux relabelling. */
  selinux?: "z" | "Z";
  /** Volume only: mount this subdirectory of the volume. */
  subpath?: string;
}

/**
 * What the user asked the engine for on top of `resources` (`--override-storage-mb`, `--override-gpus`): a size for
 * the container's writable layer — set where the engine's storage driver supports it (overlay on XFS with pquota,
 * devicemapper…), otherwise the trial runs without it and the provider warns once — and GPUs, as Docker's device
 * requests (NVIDIA Container Toolkit); an engine that drops the request (podman's Docker-compatible API) is an error.
 */
export interface EngineRequests {
  storageMb?: number | null;
  gpus?: number | null;
}

/** Everything an environment is made of; no Task needed (a trial, an RL row or a generated task all describe one). */
export interface EnvironmentSpec {
  /** Names the environment in error messages and logs (e.g. the task name). */
  displayName: string;
  image: ImageSource;
  resources: Resources;
  network: NetworkPolicy;
  /** Default working directory of the container and of every exec; null = the image's WORKDIR. */
  workdir: string | null;
  /** Environment variables of the container, already resolved (no templates). */
  env: Record<string, string>;
  /** Container labels (the provider adds its own tmax.session, tmax.trial and tmax.job on top). */
  labels: Record<string, string>;
  /** Base of the container's name; also its tmax.trial label. */
  trialName: string;
  jobId?: string;
  logs: LogMounts;
  /** Where build output and environment notes go (the trial log). */
  log?: (line: string) => void;
  /**
   * Services beside the main container, started first in this order (absent or empty = the main container alone);
   * `mainDependsOn` says which the main container waits for, and how.
   */
  services?: ServiceSpec[];
  mainDependsOn?: { service: string; condition: ServiceCondition }[];
  /** Extra mounts besides /logs. */
  mounts?: ExtraMount[];
  engineRequests?: EngineRequests;
}

/** Options of EnvironmentProvider.prepareImage. */
export interface PrepareImageOptions {
  /** Build the source's Dockerfile context even when an image name is given or a cached build exists. */
  forceBuild?: boolean;
  signal?: AbortSignal;
  log?: (line: string) => void;
  /** Names the environment in error messages (ImageBuildError "<displayName>: image build failed: …"). */
  displayName?: string;
}

/**
 * The engine's local image store, as `tmax images bootstrap` needs it. Names are image references ("repo:tag",
 * tag "latest" when omitted). Every call is a short API request except importRootfs, which lasts as long as its
 * stream: to stop an import, end the stream (e.g. kill the process writing it); the promise settles afterwards.
 */
export interface ImageStore {
  /** True when an image with this name or id exists locally. */
  exists(name: string): Promise<boolean>;
  /** Adds the name `target` to the local image `image` (a name or an id). */
  tag(image: string, target: string): Promise<void>;
  /**
   * Creates an image named `name` from a root-filesystem tar stream (like `docker import`), applying Dockerfile
   * `changes` (`ENV PATH=…`, `CMD ["bash"]`). Resolves with the new image's id when the engine reports it, else
   * with `name`; rejects when the engine reports an error.
   */
  importRootfs(rootfs: Readable, name: string, changes: string[]): Promise<string>;
  /** Removes the name `name` (the image goes with its last name). A missing name is not an error. */
  untag(name: string): Promise<void>;
}

/** A container backend (podman, docker): makes environments and owns shared resources such as the image cache. */
export interface EnvironmentProvider {
  readonly name: string;
  /** The backend's image store (for importing base images). */
  readonly imageStore: ImageStore;
  /**
   * True when the engine runs on this host, so tmax's egress proxy and host firewall can enforce an allowlist
   * (`network_mode = "allowlist"`); a pool is local when any of its engines is, and puts allowlist trials on those only.
   * Absent = not local.
   */
  readonly localEngine?: boolean;
  /**
   * The most CPUs one environment may be given: absent = this host's count (local engines), null = no cap here (remote
   * sandboxes, e.g. Daytona's, where the service itself refuses what it cannot give).
   */
  readonly cpuCap?: number | null;
  createEnvironment(spec: EnvironmentSpec): Environment;
  /**
   * Finds, pulls or builds the image of `source` ahead of time and resolves with its name (optional warm-up;
   * start() does it too). Concurrent calls for the same source share one build. Rejects with ImageUnavailableError
   * when an image (or a Dockerfile's base image) is neither present nor pullable, ImageBuildError when a build fails.
   */
  prepareImage(source: ImageSource, opts?: PrepareImageOptions): Promise<string>;
  /** Removes every container this provider started that is still around. */
  removeAll(): Promise<void>;
  /** Releases the backend (e.g. stops a podman service this provider started). */
  close(): Promise<void>;
}

export const LOG_DIRS = { agent: "/logs/agent", verifier: "/logs/verifier", artifacts: "/logs/artifacts" } as const;

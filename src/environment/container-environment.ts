import { randomBytes } from "node:crypto";
import { chmod, mkdir } from "node:fs/promises";
import { basename, dirname, posix } from "node:path";
import type { Readable } from "node:stream";
import type Docker from "dockerode";
import type { Container } from "dockerode";
import { shellQuote } from "../util/shell-quote.js";
import { sleep } from "../util/sleep.js";
import { containerStartError } from "./engine-errors.js";
import { checkGpusGranted, extraHostConfig, isStorageLimitRefusal, prepareBindSources, type StorageLimitSupport } from "./engine-requests.js";
import { setLongTimeout, type LongTimeout } from "../util/timers.js";
import { LOG_DIRS, type Environment, type EnvironmentSpec, type ExecOptions, type ExecResult, type NetworkPolicy, type UploadDirOptions } from "./environment.js";
import { ExitMarkerScanner } from "./exit-marker.js";
import { HeadTailBuffer } from "./output-buffer.js";
import { extractTar, tarDirectory, tarFile } from "./tar.js";
import type { ImageCache } from "./image-cache.js";
import type { EgressGate } from "./egress-gate.js";
import type { HostPattern } from "../util/host-pattern.js";
import { JOB_LABEL, OWNER_LABEL, SESSION_LABEL, TRIAL_LABEL } from "./labels.js";

/** Default cap on stdout and on stderr kept per exec (head + tail). */
export const DEFAULT_MAX_OUTPUT_BYTES = 8 * 1024 * 1024;

/** Milliseconds to wait for an exec stream to close after its process group was killed before giving up on it. */
const KILL_GRACE_MS = 3000;

/** Milliseconds to wait, after the command's exit markers, for the output pipes to close (background jobs). */
const BACKGROUND_GRACE_MS = 50;

/**
 * Every exec runs under this wrapper: it prints its PID on stderr's first line (the exec'd shell leads its own
 * session, so the PID is also the process group id a timeout kills), runs `bash -c <command>`, then prints an exit
 * marker with the status on stdout and a marker on stderr. $0 = command, $1 = per-exec token.
 */
const EXEC_WRAPPER =
  'echo "$$" >&2; bash -c "$0"; s=$?; printf "\\036TMAX-EXIT-%s:%d\\n" "$1" "$s"; printf "\\036TMAX-EXIT-%s:\\n" "$1" >&2; exit "$s"';

export interface ContainerEnvironmentDeps {
  docker: Docker;
  images: ImageCache;
  /** Called with the container id when created and removed, so the provider can clean up on Ctrl-C. */
  track: (id: string, alive: boolean) => void;
  /** Called with the id of a container kept on stop (`delete: false`): the provider's clean-up leaves it. */
  keep?: (id: string) => void;
  /** Whether /logs bind mounts of host dirs are possible (local engine). */
  bindMounts: boolean;
  sessionLabel: string;
  /** Sets up the network of an allowlist policy (egress-gate.ts); the provider tracks it for Ctrl-C. */
  openEgressGate: (hosts: HostPattern[], trialName: string, log?: (line: string) => void) => Promise<EgressGate>;
  /** Names the owning tmax process (labels.ts OWNER_LABEL). */
  ownerLabel: string;
  /** The engine, as the trial log names it. */
  engineName: string;
  /** Whether the engine enforces writable-layer sizes, shared by its environments (engine-requests.ts). */
  storageLimits?: StorageLimitSupport;
}

/** A network the container joins instead of its policy's (the private network of a compose environment). */
export interface JoinedNetwork {
  name: string;
  /** Names the container is reachable by on that network. */
  aliases: string[];
}

function containerName(trialName: string): string {
  const slug = trialName.toLowerCase().replace(/[^a-z0-9_.-]+/g, "-").replace(/^[^a-z0-9]+/, "");
  return `tmax_${slug || "trial"}`;
}

/**
 * The engine's NetworkMode for a policy (undefined = the engine's default network). An allowlist needs its gate
 * (the network it names); without one this throws rather than fall back to a more open network.
 */
function networkMode(policy: NetworkPolicy, gate: EgressGate | null): string | undefined {
  switch (policy.mode) {
    case "open":
      return undefined;
    case "none":
      return "none";
    case "allowlist":
      if (!gate) throw new Error("internal error: an allowlist network policy without its egress gate");
      return gate.networkName;
  }
}

/** Resolves with the promise's value, or with undefined after `ms` (the timer never outlives the race). */
async function raceTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: LongTimeout | undefined;
  try {
    return await Promise.race([p, new Promise<undefined>((r) => (timer = setLongTimeout(() => r(undefined), ms)))]);
  } finally {
    timer?.clear();
  }
}

/** Splits a Docker multiplexed exec stream into stdout and stderr chunks. */
function demux(stream: Readable, onStdout: (b: Buffer) => void, onStderr: (b: Buffer) => void): void {
  let pending: Buffer = Buffer.alloc(0);
  stream.on("data", (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 8) {
      const size = pending.readUInt32BE(4);
      if (pending.length < 8 + size) break;
      const payload = pending.subarray(8, 8 + size);
      if (pending[0] === 2) onStderr(payload);
      else onStdout(payload);
      pending = pending.subarray(8 + size);
    }
  });
}

/** An Environment backed by one container of a Docker-Engine-API server (podman's or Docker's). */
export class ContainerEnvironment implements Environment {
  private container: Container | null = null;
  /** The allowlist network and proxy of this container (allowlist policy only). */
  private gate: EgressGate | null = null;
  private stopped = false;
  /** Exec output streams still held open by background jobs of finished commands. */
  private readonly lingering = new Set<Readable>();
  readonly mounted: boolean;
  readonly id: string;
  private readonly workdir: string | null;

  constructor(
    private readonly spec: EnvironmentSpec,
    private readonly deps: ContainerEnvironmentDeps,
    /** Set by a compose environment for its main container (an allowlist cannot be combined with it). */
    private readonly joined: JoinedNetwork | null = null,
  ) {
    this.mounted = deps.bindMounts;
    this.id = containerName(spec.trialName);
    this.workdir = spec.workdir;
  }

  async start(opts: { forceBuild?: boolean; signal?: AbortSignal } = {}): Promise<void> {
    const { spec } = this;
    const image = await this.deps.images.ensure(spec.image, {
      forceBuild: opts.forceBuild,
      signal: opts.signal,
      log: spec.log,
      displayName: spec.displayName,
    });
    opts.signal?.throwIfAborted();

    if (spec.network.mode === "allowlist") {
      this.gate = await this.deps.openEgressGate(spec.network.hosts, spec.trialName, spec.log).catch((err: unknown) => {
        throw new Error(`${spec.displayName}: ${(err as Error).message}`, { cause: err });
      });
      if (this.stopped) {
        await this.gate.close();
        throw new Error("environment was stopped during start");
      }
    }
    const { cpus, memoryMb } = spec.resources;
    if (this.joined && spec.network.mode === "allowlist") throw new Error(`${spec.displayName}: an allowlist cannot be enforced for a container on a compose network`);
    const logBinds = this.mounted
      ? [`${this.spec.logs.agent}:${LOG_DIRS.agent}`, `${this.spec.logs.verifier}:${LOG_DIRS.verifier}`, `${this.spec.logs.artifacts}:${LOG_DIRS.artifacts}`]
      : [];
    const hostConfig = (withStorage: boolean): Docker.HostConfig => ({
      NetworkMode: this.joined?.name ?? networkMode(spec.network, this.gate),
      // Never 0 (which would mean "no limit"): a limit too small for the engine is refused and reported.
      NanoCpus: cpus ? Math.max(1, Math.round(cpus * 1e9)) : undefined,
      Memory: memoryMb ? memoryMb * 1024 * 1024 : undefined,
      ...extraHostConfig(spec, logBinds, { withStorage }),
    });
    if (this.mounted) {
      // The bind-mounted trial dirs are made world-writable on the host, so any container user can write logs.
      await Promise.all(
        [this.spec.logs.agent, this.spec.logs.verifier, this.spec.logs.artifacts].map(async (d) => {
          await mkdir(d, { recursive: true });
          await chmod(d, 0o777);
        }),
      );
      await prepareBindSources(spec.mounts ?? [], spec.displayName);
    }
    const createOptions = (withStorage: boolean): Docker.ContainerCreateOptions => ({
      name: `${this.id}_${randomBytes(4).toString("hex")}`,
      Image: image,
      Entrypoint: ["sh", "-c"],
      Cmd: ["trap 'exit 0' TERM; while :; do sleep 86400 & wait $!; done"],
      WorkingDir: this.workdir ?? undefined,
      // The proxy settings come last: a task's own HTTP_PROXY could not get it out anyway, and would only break it.
      Env: Object.entries({ ...spec.env, ...(this.gate?.proxyEnv ?? {}) }).map(([k, v]) => `${k}=${v}`),
      Labels: {
        ...spec.labels,
        [SESSION_LABEL]: this.deps.sessionLabel,
        [OWNER_LABEL]: this.deps.ownerLabel,
        [TRIAL_LABEL]: spec.trialName,
        ...(spec.jobId ? { [JOB_LABEL]: spec.jobId } : {}),
      },
      HostConfig: hostConfig(withStorage),
      ...(this.joined ? { NetworkingConfig: { EndpointsConfig: { [this.joined.name]: { Aliases: this.joined.aliases } } } } : {}),
    });
    const storageMb = spec.engineRequests?.storageMb ?? null;
    let withStorage = storageMb !== null && (this.deps.storageLimits?.supported ?? true);
    if (storageMb !== null && !withStorage) spec.log?.(`storage limit of ${storageMb} MB not enforced: this engine refuses writable-layer sizes`);
    // Engine errors name the spec's limit they are about (a memory limit runc cannot set, a byte count over int64).
    const create = (): Promise<Container> => this.deps.docker.createContainer(createOptions(withStorage));
    const created = await create()
      .catch(async (err: unknown) => {
        // A storage driver without quotas: the trial runs without the size limit, and the engine is remembered.
        if (!withStorage || !isStorageLimitRefusal(err)) throw err;
        this.deps.storageLimits?.refused(err, this.deps.engineName);
        spec.log?.(`storage limit of ${storageMb} MB not enforced: the engine refused it`);
        withStorage = false;
        return create();
      })
      .catch(async (err: unknown) => {
        await this.closeGate();
        throw containerStartError(err, spec.displayName, "create", spec.resources);
      });
    this.container = created;
    this.deps.track(created.id, true);
    spec.log?.(`container ${created.id.slice(0, 12)} created on engine ${this.deps.engineName}`);
    await checkGpusGranted(created, spec);
    if (this.stopped) {
      // stop() raced with creation: do not leave the container behind.
      await this.removeContainer();
      throw new Error("environment was stopped during start");
    }
    await created.start().catch((err: unknown) => {
      throw containerStartError(err, spec.displayName, "start", spec.resources);
    });
    opts.signal?.throwIfAborted();
    if (!this.mounted) {
      const dirs = Object.values(LOG_DIRS).join(" ");
      const prep = await this.exec(`mkdir -p ${dirs} && chmod 777 ${dirs}`, { user: "root", timeoutSec: 60 });
      if (prep.returnCode !== 0) throw new Error(`could not prepare /logs in the container: ${prep.stderr.trim()}`);
    }

    // A named image may come with files for its workdir (a prebuilt image with no Dockerfile).
    const files = spec.image.kind === "image" ? spec.image.files : null;
    if (files) {
      const wd = this.workdir ?? (await this.exec("pwd", { timeoutSec: 30 })).stdout.trim();
      if (wd) await this.uploadDir(files, wd);
    }
  }

  private requireContainer(): Container {
    if (!this.container) throw new Error(`environment ${this.id} is not started`);
    return this.container;
  }

  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    const container = this.requireContainer();
    const started = performance.now();
    opts.signal?.throwIfAborted();
    const limit = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    const cwd = opts.cwd ?? this.workdir ?? undefined;
    const user = opts.user ?? undefined;
    const token = randomBytes(8).toString("hex");
    const exec = await container.exec({
      Cmd: ["sh", "-c", EXEC_WRAPPER, command, token],
      AttachStdout: true,
      AttachStderr: true,
      AttachStdin: false,
      Tty: false,
      WorkingDir: cwd,
      User: user === undefined || user === null ? undefined : String(user),
      Env: opts.env ? Object.entries(opts.env).map(([k, v]) => `${k}=${v}`) : undefined,
    });
    const stream = (await exec.start({ hijack: true, stdin: false })) as unknown as Readable;
    const stdout = new HeadTailBuffer(limit);
    const stderr = new HeadTailBuffer(limit);
    const marker = `\x1eTMAX-EXIT-${token}:`;
    const outScan = new ExitMarkerScanner(marker, true);
    const errScan = new ExitMarkerScanner(marker, false);
    let pid: number | null = null;
    let pidLine = "";
    let pidResolve: (() => void) | null = null;
    const pidKnown = new Promise<void>((r) => (pidResolve = r));
    let markersResolve: (() => void) | null = null;
    const markersSeen = new Promise<void>((r) => (markersResolve = r));
    const checkMarkers = (): void => {
      if (outScan.done && errScan.done) markersResolve?.();
    };
    // Set once the result is taken: output that background jobs write afterwards is read and dropped.
    let settled = false;
    demux(
      stream,
      (b) => {
        if (settled) return;
        stdout.push(outScan.push(b));
        checkMarkers();
      },
      (b) => {
        if (settled) return;
        if (pid === null) {
          const text = pidLine + b.toString("latin1");
          const nl = text.indexOf("\n");
          if (nl < 0) {
            pidLine = text;
            return;
          }
          pid = Number(text.slice(0, nl)) || -1;
          pidResolve?.();
          b = Buffer.from(text.slice(nl + 1), "latin1");
          if (b.length === 0) return;
        }
        stderr.push(errScan.push(b));
        checkMarkers();
      },
    );

    let timedOut = false;
    let aborted = false;
    // Assigned by kill(), which runs from timers and listeners (the cast keeps TypeScript from narrowing it to null).
    let killing = null as Promise<void> | null;
    let streamEnded = false;
    const ended = new Promise<void>((resolve) => {
      const done = (): void => {
        streamEnded = true;
        resolve();
      };
      stream.once("end", done);
      stream.once("close", done);
      stream.once("error", done);
    });
    const kill = (): Promise<void> => {
      killing ??= (async () => {
        if (pid === null) await raceTimeout(pidKnown, 1000);
        if (pid !== null && pid > 0) {
          await this.killGroup(pid).catch(() => undefined);
        }
        const closed = await raceTimeout(ended.then(() => true), KILL_GRACE_MS);
        // Something outside the group (a setsid'd daemon) still holds the output open: stop waiting for it.
        if (closed !== true) stream.destroy();
      })();
      return killing;
    };
    const timer =
      opts.timeoutSec != null && Number.isFinite(opts.timeoutSec)
        ? setLongTimeout(() => {
            timedOut = true;
            void kill();
          }, opts.timeoutSec * 1000)
        : null;
    const onAbort = (): void => {
      aborted = true;
      void kill();
    };
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      // Done when the stream ends, or when the command has printed its exit markers: then background jobs it left
      // running may still hold the pipes open, and we stop listening instead of waiting for them.
      await Promise.race([ended, markersSeen.then(() => raceTimeout(ended, BACKGROUND_GRACE_MS))]);
      if (killing) await killing;
      else if (!streamEnded) {
        // Background jobs still hold the pipes. Keep draining them (closing would SIGPIPE the jobs, not reading
        // would block them) until they exit or the environment stops.
        this.lingering.add(stream);
        stream.once("close", () => this.lingering.delete(stream));
      }
    } finally {
      settled = true;
      timer?.clear();
      opts.signal?.removeEventListener("abort", onAbort);
    }
    if (aborted) throw opts.signal?.reason ?? new Error("exec aborted");
    if (!outScan.done) stdout.push(outScan.flush());
    if (!errScan.done) stderr.push(errScan.flush());

    let returnCode: number;
    if (outScan.status !== null) returnCode = outScan.status;
    else if (timedOut) returnCode = 124;
    else returnCode = await this.inspectExitCode(exec);
    return {
      stdout: stdout.toString(),
      stderr: stderr.toString(),
      returnCode,
      timedOut: timedOut && outScan.status === null,
      stdoutDropped: stdout.dropped,
      stderrDropped: stderr.dropped,
      durationSec: (performance.now() - started) / 1000,
    };
  }

  /** Exit code from the engine, for commands that ended without printing the marker (e.g. the shell was killed). */
  private async inspectExitCode(exec: Docker.Exec): Promise<number> {
    for (let i = 0; i < 200; i++) {
      const info = await exec.inspect();
      if (!info.Running) return info.ExitCode ?? -1;
      await sleep(10);
    }
    return -1;
  }

  private async killGroup(pid: number): Promise<void> {
    const container = this.requireContainer();
    const exec = await container.exec({
      Cmd: ["sh", "-c", `kill -9 -${pid} 2>/dev/null; kill -9 ${pid} 2>/dev/null; true`],
      User: "root",
      AttachStdout: true,
      AttachStderr: true,
    });
    const s = (await exec.start({ hijack: true, stdin: false })) as unknown as Readable;
    s.resume();
    await new Promise<void>((r) => {
      s.once("end", r);
      s.once("close", r);
      s.once("error", () => r());
    });
  }

  private async mkdirp(dir: string): Promise<void> {
    const r = await this.exec(`mkdir -p ${shellQuote(dir)}`, { user: "root", timeoutSec: 60 });
    if (r.returnCode !== 0) throw new Error(`mkdir -p ${dir} failed in the container: ${r.stderr.trim()}`);
  }

  /**
   * Streams the archive `archive()` makes into `dir`; if the engine reports the directory missing (Docker does, podman
   * creates it), mkdir and retry with a fresh archive (a stream is read once).
   */
  private async putInto(dir: string, archive: () => Readable): Promise<void> {
    try {
      await this.putArchive(dir, archive());
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) throw err;
      await this.mkdirp(dir);
      await this.putArchive(dir, archive());
    }
  }

  private async putArchive(dir: string, archive: Readable): Promise<void> {
    try {
      await this.requireContainer().putArchive(archive, { path: dir });
    } finally {
      // The engine may answer before reading it all (an error): stop reading files for it.
      archive.destroy();
    }
  }

  async uploadFile(src: string, dst: string): Promise<void> {
    await this.putInto(posix.dirname(dst), () => tarFile(src, posix.basename(dst)));
  }

  async uploadDir(srcDir: string, dstDir: string, opts: UploadDirOptions = {}): Promise<void> {
    const dst = posix.normalize(dstDir).replace(/\/+$/, "") || "/";
    if (dst === "/") return this.putInto("/", () => tarDirectory(srcDir, "", opts.exclude));
    // Entries are prefixed with the target's name and extracted into its parent: no mkdir round trip needed.
    await this.putInto(posix.dirname(dst), () => tarDirectory(srcDir, posix.basename(dst) + "/", opts.exclude));
  }

  async downloadFile(src: string, dst: string): Promise<void> {
    const container = this.requireContainer();
    const archive = (await container.getArchive({ path: src })) as unknown as Readable;
    const name = posix.basename(src);
    await mkdir(dirname(dst), { recursive: true });
    const n = await extractTar(archive, dirname(dst), { rename: (p) => (p === name ? basename(dst) : null) });
    if (n === 0) throw new Error(`${src} is not a regular file in the container`);
  }

  async downloadDir(srcDir: string, dstDir: string): Promise<void> {
    const container = this.requireContainer();
    const archive = (await container.getArchive({ path: srcDir.replace(/\/+$/, "") || "/" })) as unknown as Readable;
    await mkdir(dstDir, { recursive: true });
    await extractTar(archive, dstDir, { strip: 1 });
  }

  async isDir(path: string): Promise<boolean> {
    return (await this.exec(`test -d ${shellQuote(path)}`, { timeoutSec: 30 })).returnCode === 0;
  }

  async isFile(path: string): Promise<boolean> {
    return (await this.exec(`test -f ${shellQuote(path)}`, { timeoutSec: 30 })).returnCode === 0;
  }

  private async removeContainer(): Promise<void> {
    const c = this.container;
    if (!c) return this.closeGate();
    try {
      await c.remove({ force: true, v: true });
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) throw err;
    }
    this.deps.track(c.id, false);
    await this.closeGate();
  }

  /** Removes the allowlist network, its firewall rules and its proxy (after the container is gone or detached). */
  private async closeGate(containerId?: string): Promise<void> {
    const gate = this.gate;
    this.gate = null;
    await gate?.close(containerId);
  }

  async stop(opts: { delete?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const s of this.lingering) s.destroy();
    this.lingering.clear();
    if (!this.container) return this.closeGate();
    if (opts.delete === false) {
      await this.container.kill().catch(() => undefined);
      this.deps.track(this.container.id, false);
      this.deps.keep?.(this.container.id);
      // A kept container is detached from its allowlist network, so a restart cannot find the host open.
      await this.closeGate(this.container.id);
      return;
    }
    await this.removeContainer();
  }
}

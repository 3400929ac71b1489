import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join, posix } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { CreateSandboxFromSnapshotParams, Daytona, Sandbox } from "@daytonaio/sdk";
import { shellQuote } from "../../util/shell-quote.js";
import { sleep } from "../../util/sleep.js";
import { DEFAULT_MAX_OUTPUT_BYTES } from "../container-environment.js";
import { LOG_DIRS, type Environment, type EnvironmentSpec, type ExecOptions, type ExecResult, type UploadDirOptions } from "../environment.js";
import { JOB_LABEL, OWNER_LABEL, SESSION_LABEL, TRIAL_LABEL } from "../labels.js";
import { extractTar, tarDirectory, tarFile } from "../tar.js";
import type { DaytonaCalls } from "./daytona-calls.js";
import { httpStatusOf, shortMessage } from "./daytona-errors.js";
import { execScript, killScript, parseScriptStdout } from "./daytona-exec-script.js";
import { MANAGED_LABEL } from "./daytona-labels.js";
import { daytonaNetworkParams } from "./daytona-network.js";
import { UnsupportedOnDaytonaError } from "./daytona-errors.js";
import { daytonaResources } from "./daytona-resources.js";
import type { DaytonaSnapshots } from "./daytona-snapshots.js";

/** How long, after a timeout or an abort killed a command, its exec may take to report the end, in ms. */
const KILL_GRACE_MS = 10_000;
/** The first poll of a running command, and the longest gap between polls, in ms. */
const FIRST_POLL_MS = 50;
const MAX_POLL_MS = 1000;

export interface DaytonaEnvironmentDeps {
  daytona: Daytona;
  calls: DaytonaCalls;
  snapshots: DaytonaSnapshots;
  sessionLabel: string;
  ownerLabel: string;
  /** Minutes without activity after which Daytona stops the sandbox (and, unless kept, deletes it). */
  autoStopMinutes: number;
  /** Keep stopped sandboxes (`--no-delete`): Daytona then never deletes them by itself. */
  keepStopped: boolean;
  /** Called with the sandbox when created and removed, so the provider can delete it on Ctrl-C. */
  track: (sandbox: Sandbox, alive: boolean) => void;
  /** Called with a sandbox kept on stop (`delete: false`): the provider's clean-up leaves it. */
  keep?: (sandbox: Sandbox) => void;
}

/** Bytes of text as UTF-8, for the dropped counts. */
const bytes = (s: string): number => Buffer.byteLength(s);

/** The sandbox's name: the container name tmax gives a trial, unique per environment. */
function sandboxName(trialName: string): string {
  const slug = trialName.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 40);
  return `tmax-${slug || "trial"}-${randomBytes(4).toString("hex")}`;
}

/**
 * One trial's Daytona sandbox, through Daytona's TypeScript SDK. Created from the task environment's snapshot
 * (DaytonaSnapshots) with the spec's CPU, memory and disk, its network policy mapped onto Daytona's network settings
 * (refused when Daytona cannot enforce it), its environment and tmax's labels. Every exec runs in a Daytona session
 * under a wrapper (daytona-exec-script.ts) that lets a timeout or an abort kill the command's process group; file
 * transfers are tar archives moved with the SDK's file API; /logs is never mounted (`mounted` is false): the trial
 * downloads it. While it lives the sandbox's activity is refreshed, so Daytona's auto-stop (and auto-delete) only
 * ever hits sandboxes whose tmax process is gone.
 */
export class DaytonaEnvironment implements Environment {
  readonly mounted = false;
  readonly id: string;
  private sandbox: Sandbox | null = null;
  private stopped = false;
  private workdir: string | null;
  private heartbeat: NodeJS.Timeout | null = null;

  constructor(
    private readonly spec: EnvironmentSpec,
    private readonly deps: DaytonaEnvironmentDeps,
  ) {
    this.id = sandboxName(spec.trialName);
    this.workdir = spec.workdir;
  }

  async start(opts: { forceBuild?: boolean; signal?: AbortSignal } = {}): Promise<void> {
    const { spec, deps } = this;
    // One Daytona sandbox per environment: a compose task's services would silently be missing.
    if (spec.services?.length) {
      throw new UnsupportedOnDaytonaError(`${spec.displayName}: docker-compose services (${spec.services.map((s) => s.name).join(", ")}) cannot run on Daytona (one sandbox per trial); run this task with -e podman or -e docker`);
    }
    if (spec.mounts && spec.mounts.length > 0) {
      throw new Error(`${spec.displayName}: a Daytona sandbox cannot mount this machine's paths or volumes (${spec.mounts.map((m) => m.target).join(", ")})`);
    }
    const network = daytonaNetworkParams(spec.network, spec.displayName);
    const resources = daytonaResources(spec.resources);
    const snapshot = await deps.snapshots.ensure(spec.image, resources, {
      forceBuild: opts.forceBuild,
      signal: opts.signal,
      log: spec.log,
      displayName: spec.displayName,
    });
    opts.signal?.throwIfAborted();
    if (this.stopped) throw new Error("environment was stopped during start");
    const params: CreateSandboxFromSnapshotParams = {
      name: this.id,
      snapshot,
      user: "root",
      envVars: spec.env,
      labels: {
        ...spec.labels,
        [MANAGED_LABEL]: "true",
        [SESSION_LABEL]: deps.sessionLabel,
        [OWNER_LABEL]: deps.ownerLabel,
        [TRIAL_LABEL]: spec.trialName,
        ...(spec.jobId ? { [JOB_LABEL]: spec.jobId } : {}),
      },
      autoStopInterval: deps.autoStopMinutes,
      // 0: deleted as soon as it stops (auto-stop included); -1: never deleted by Daytona (kept for a look).
      autoDeleteInterval: deps.keepStopped ? -1 : 0,
      ...network,
    };
    const sandbox = await deps.calls.run(
      `create sandbox ${this.id}`,
      async (attempt) => {
        // The name is unique: a retry after a failure Daytona may have acted on finds the sandbox instead of making a second.
        if (attempt > 1) {
          const made = await this.existing();
          if (made) return made;
        }
        return deps.daytona.create(params, { timeout: 0 });
      },
      { signal: opts.signal },
    );
    this.sandbox = sandbox;
    deps.track(sandbox, true);
    spec.log?.(`Daytona sandbox ${sandbox.id} (${this.id}) created from snapshot ${snapshot}${network.networkBlockAll ? ", network blocked" : ""}`);
    if (this.stopped) {
      await this.deleteSandbox();
      throw new Error("environment was stopped during start");
    }
    this.startHeartbeat();
    this.workdir ??= (await deps.calls.run("get the sandbox's work dir", () => sandbox.getWorkDir(), { signal: opts.signal })) ?? null;
    const dirs = Object.values(LOG_DIRS).join(" ");
    const prep = await this.exec(`mkdir -p ${dirs} && chmod 777 ${dirs}`, { user: "root", timeoutSec: 120, signal: opts.signal });
    if (prep.returnCode !== 0) throw new Error(`could not prepare /logs in the sandbox: ${prep.stderr.trim()}`);
    const files = spec.image.kind === "image" ? spec.image.files : null;
    if (files && this.workdir) await this.uploadDir(files, this.workdir);
  }

  /** The sandbox this environment's name designates, if Daytona has it. */
  private async existing(): Promise<Sandbox | null> {
    try {
      return await this.deps.daytona.get(this.id);
    } catch (err) {
      if (httpStatusOf(err) === 404) return null;
      throw err;
    }
  }

  /** Refreshes the sandbox's last activity now and then, so Daytona's auto-stop never hits a sandbox in use. */
  private startHeartbeat(): void {
    const everyMs = Math.max(10_000, Math.min(60_000, (this.deps.autoStopMinutes * 60_000) / 4));
    if (this.deps.autoStopMinutes <= 0) return;
    this.heartbeat = setInterval(() => {
      void this.sandbox?.refreshActivity().catch((err: unknown) => this.spec.log?.(`Daytona: could not refresh the sandbox's activity: ${shortMessage(err)}`));
    }, everyMs);
    this.heartbeat.unref();
  }

  private requireSandbox(): Sandbox {
    if (!this.sandbox || this.stopped) throw new Error(`environment ${this.id} is not started`);
    return this.sandbox;
  }

  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    const sandbox = this.requireSandbox();
    const started = performance.now();
    opts.signal?.throwIfAborted();
    const limit = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    const token = randomBytes(8).toString("hex");
    const session = `tmax-${token}`;
    const script = execScript({
      token,
      command,
      cwd: opts.cwd ?? this.workdir,
      env: { ...this.spec.env, ...(opts.env ?? {}) },
      user: opts.user ?? null,
      maxOutputBytes: limit,
    });
    const { calls } = this.deps;
    await calls.run("create an exec session", () => sandbox.process.createSession(session));
    try {
      const { cmdId } = await calls.run("start a command", () => sandbox.process.executeSessionCommand(session, { command: script, runAsync: true }), {
        replayable: false,
      });
      let timedOut = false;
      let aborted = false;
      // Assigned by kill(), which runs from the abort listener too (the cast keeps TypeScript from narrowing it to null).
      let killing = null as Promise<void> | null;
      const kill = (): void => {
        killing ??= calls
          .run("kill a command", () => sandbox.process.executeCommand(killScript(token), undefined, undefined, 60))
          .then(() => undefined)
          .catch((err: unknown) => this.spec.log?.(`Daytona: could not kill a command: ${shortMessage(err)}`));
      };
      const deadline = opts.timeoutSec != null && Number.isFinite(opts.timeoutSec) ? started + opts.timeoutSec * 1000 : Infinity;
      const onAbort = (): void => {
        aborted = true;
        kill();
      };
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      let exitCode: number | undefined;
      try {
        let wait = FIRST_POLL_MS;
        let killedAt = Infinity;
        for (;;) {
          const cmd = await calls.run("poll a command", () => sandbox.process.getSessionCommand(session, cmdId));
          if (cmd.exitCode !== undefined && cmd.exitCode !== null) {
            exitCode = cmd.exitCode;
            break;
          }
          const now = performance.now();
          if (!killing && now >= deadline) {
            timedOut = true;
            kill();
          }
          if (killing && killedAt === Infinity) killedAt = now;
          // A command that does not end even when killed (the sandbox is wedged): stop waiting for it.
          if (now - killedAt > KILL_GRACE_MS) break;
          await sleep(Math.max(1, Math.min(wait, killing ? wait : deadline - now)));
          wait = Math.min(MAX_POLL_MS, wait * 2);
        }
        if (killing) await killing;
      } finally {
        opts.signal?.removeEventListener("abort", onAbort);
      }
      if (aborted) throw opts.signal?.reason ?? new Error("exec aborted");
      const logs = exitCode === undefined ? { stdout: "", stderr: "" } : await calls.run("read a command's output", () => sandbox.process.getSessionCommandLogs(session, cmdId));
      const out = parseScriptStdout(token, logs.stdout ?? "");
      const stderr = logs.stderr ?? "";
      const returnCode = timedOut ? 124 : (out.status ?? exitCode ?? -1);
      return {
        stdout: out.stdout,
        stderr,
        returnCode,
        timedOut,
        stdoutDropped: Math.max(0, out.stdoutBytes - bytes(out.stdout)),
        stderrDropped: Math.max(0, out.stderrBytes - bytes(stderr)),
        durationSec: (performance.now() - started) / 1000,
      };
    } finally {
      await calls.run("delete an exec session", () => sandbox.process.deleteSession(session)).catch(() => undefined);
    }
  }

  /** Runs a short command as root that must succeed (transfers' unpacking and packing). */
  private async mustRun(command: string, what: string): Promise<void> {
    const r = await this.exec(command, { user: "root", timeoutSec: 600 });
    if (r.returnCode !== 0) throw new Error(`${what} failed in the sandbox: ${(r.stderr || r.stdout).trim()}`);
  }

  /** A local temp dir for one transfer, removed afterwards. */
  private async withTemp<T>(body: (dir: string) => Promise<T>): Promise<T> {
    const dir = await mkdtemp(join(tmpdir(), "tmax-daytona-"));
    try {
      return await body(dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Uploads a tar archive and unpacks it into `dstDir` (modes kept, owned by root). */
  private async putArchive(archive: Readable, dstDir: string): Promise<void> {
    const sandbox = this.requireSandbox();
    await this.withTemp(async (tmp) => {
      const local = join(tmp, "upload.tar");
      await pipeline(archive, createWriteStream(local));
      const remote = `/tmp/.tmax-upload-${randomBytes(8).toString("hex")}.tar`;
      await this.deps.calls.run("upload a file", () => sandbox.fs.uploadFile(local, remote));
      const d = shellQuote(dstDir);
      await this.mustRun(`mkdir -p ${d} && tar -xf ${remote} -C ${d} --no-same-owner; s=$?; rm -f ${remote}; exit $s`, `unpacking into ${dstDir}`);
    });
  }

  async uploadFile(src: string, dst: string): Promise<void> {
    await this.putArchive(tarFile(src, posix.basename(dst)), posix.dirname(dst));
  }

  async uploadDir(srcDir: string, dstDir: string, opts: UploadDirOptions = {}): Promise<void> {
    await this.putArchive(tarDirectory(srcDir, "", opts.exclude), posix.normalize(dstDir));
  }

  async downloadFile(src: string, dst: string): Promise<void> {
    const sandbox = this.requireSandbox();
    await mkdir(dirname(dst), { recursive: true });
    await this.deps.calls.run(`download ${src}`, () => sandbox.fs.downloadFile(src, dst));
  }

  async downloadDir(srcDir: string, dstDir: string): Promise<void> {
    const sandbox = this.requireSandbox();
    const remote = `/tmp/.tmax-download-${randomBytes(8).toString("hex")}.tar`;
    await this.mustRun(`tar -cf ${remote} -C ${shellQuote(srcDir)} .`, `packing ${srcDir}`);
    try {
      await this.withTemp(async (tmp) => {
        const local = join(tmp, basename(remote));
        await this.deps.calls.run(`download ${srcDir}`, () => sandbox.fs.downloadFile(remote, local));
        await mkdir(dstDir, { recursive: true });
        await extractTar(createReadStream(local), dstDir);
      });
    } finally {
      await this.exec(`rm -f ${remote}`, { user: "root", timeoutSec: 60 }).catch(() => undefined);
    }
  }

  async isDir(path: string): Promise<boolean> {
    return (await this.exec(`test -d ${shellQuote(path)}`, { timeoutSec: 60 })).returnCode === 0;
  }

  async isFile(path: string): Promise<boolean> {
    return (await this.exec(`test -f ${shellQuote(path)}`, { timeoutSec: 60 })).returnCode === 0;
  }

  private async deleteSandbox(): Promise<void> {
    const sandbox = this.sandbox;
    if (!sandbox) return;
    await this.deps.calls.run(`delete sandbox ${sandbox.id}`, () => sandbox.delete(120)).catch((err: unknown) => {
      if (httpStatusOf(err) !== 404) throw err;
    });
    this.deps.track(sandbox, false);
  }

  async stop(opts: { delete?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    const sandbox = this.sandbox;
    if (!sandbox) return;
    if (opts.delete === false) {
      await this.deps.calls.run(`stop sandbox ${sandbox.id}`, () => sandbox.stop(120)).catch((err: unknown) => {
        this.spec.log?.(`Daytona: could not stop sandbox ${sandbox.id}: ${shortMessage(err)}`);
      });
      this.deps.track(sandbox, false);
      this.deps.keep?.(sandbox);
      return;
    }
    await this.deleteSandbox();
  }
}

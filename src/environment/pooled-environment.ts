import type { Lease } from "../util/least-in-flight.js";
import type { WorkPool } from "../util/work-pool.js";
import { EngineUnavailableError, isConnectionError } from "./engine-errors.js";
import type { Environment, EnvironmentProvider, EnvironmentSpec, ExecOptions, ExecResult, UploadDirOptions } from "./environment.js";

/** One engine of a pool, with its own limits (its own image cache is its provider's). */
export interface PoolMember {
  readonly provider: EnvironmentProvider;
  /** The engine as logs and errors name it (its URL). */
  readonly label: string;
  readonly starts: WorkPool;
  readonly execs: WorkPool;
}

/** What a pooled environment needs of its pool: an engine to run on, and a place to report one that failed. */
export interface EngineLeases {
  readonly members: readonly PoolMember[];
  /** The least-loaded engine that is not benched, among those `eligible` picks (at least one must be). */
  claim(signal?: AbortSignal, eligible?: (member: PoolMember) => boolean): Promise<Lease<PoolMember>>;
  engineFailed(member: PoolMember, err: unknown): void;
}

/**
 * An environment on whichever engine of a pool had the fewest in flight when it started. A start that fails because
 * the engine is unreachable is tried on another engine (up to twice per engine). Once started, the environment is
 * bound to its engine: if that engine stops answering, every later call fails with EngineUnavailableError and
 * `engineLost` says so — the trial is void and is run again from scratch elsewhere. An allowlist trial starts only on
 * an engine on this host (EnvironmentProvider.localEngine), and fails at once when the pool has none.
 */
export class PooledEnvironment implements Environment {
  private lease: Lease<PoolMember> | null = null;
  private inner: Environment | null = null;
  engineLost: EngineUnavailableError | null = null;

  constructor(
    private readonly spec: EnvironmentSpec,
    private readonly pool: EngineLeases,
  ) {}

  get id(): string {
    return this.inner?.id ?? this.spec.trialName;
  }

  get mounted(): boolean {
    return this.inner?.mounted ?? false;
  }

  async start(opts: { forceBuild?: boolean; signal?: AbortSignal } = {}): Promise<void> {
    // An allowlist is enforced by tmax's proxy and host firewall: only an engine on this host can run such a trial.
    const eligible = this.spec.network.mode === "allowlist" ? (m: PoolMember) => m.provider.localEngine === true : () => true;
    const candidates = this.pool.members.filter(eligible);
    if (candidates.length === 0) {
      const engines = this.pool.members.map((m) => m.label).join(", ");
      throw new Error(
        `${this.spec.displayName}: network_mode = "allowlist" needs a container engine on this host (tmax enforces it with a local proxy and firewall), and no engine of this run is local (${engines}); add a unix:// --engine`,
      );
    }
    const maxTries = 2 * candidates.length;
    for (let tries = 1; ; tries++) {
      const lease = await this.pool.claim(opts.signal, eligible);
      const env = lease.member.provider.createEnvironment(this.spec);
      this.lease = lease;
      this.inner = env;
      try {
        await lease.member.starts.run(() => env.start(opts));
        return;
      } catch (err) {
        if (!isConnectionError(err)) throw err; // this engine's answer: stop() cleans up as usual
        this.pool.engineFailed(lease.member, err);
        await env.stop().catch(() => undefined);
        lease.release();
        this.lease = null;
        this.inner = null;
        if (tries >= maxTries) throw new EngineUnavailableError(lease.member.label, { cause: err });
        this.spec.log?.(`container engine ${lease.member.label} is unreachable (${(err as Error).message}); starting on another engine`);
      }
    }
  }

  /** Runs a call on this environment's engine, within the engine's exec limit, noticing a lost engine. */
  private async onEngine<R>(call: (env: Environment) => Promise<R>): Promise<R> {
    if (this.engineLost) throw this.engineLost;
    const { inner, lease } = this;
    if (!inner || !lease) throw new Error(`environment ${this.id} is not started`);
    try {
      return await lease.member.execs.run(() => call(inner));
    } catch (err) {
      if (!isConnectionError(err)) throw err;
      this.engineLost = new EngineUnavailableError(lease.member.label, { cause: err });
      this.pool.engineFailed(lease.member, err);
      throw this.engineLost;
    }
  }

  exec(command: string, opts?: ExecOptions): Promise<ExecResult> {
    return this.onEngine((env) => env.exec(command, opts));
  }

  uploadFile(src: string, dst: string): Promise<void> {
    return this.onEngine((env) => env.uploadFile(src, dst));
  }

  uploadDir(srcDir: string, dstDir: string, opts?: UploadDirOptions): Promise<void> {
    return this.onEngine((env) => env.uploadDir(srcDir, dstDir, opts));
  }

  downloadFile(src: string, dst: string): Promise<void> {
    return this.onEngine((env) => env.downloadFile(src, dst));
  }

  downloadDir(srcDir: string, dstDir: string): Promise<void> {
    return this.onEngine((env) => env.downloadDir(srcDir, dstDir));
  }

  isDir(path: string): Promise<boolean> {
    return this.onEngine((env) => env.isDir(path));
  }

  isFile(path: string): Promise<boolean> {
    return this.onEngine((env) => env.isFile(path));
  }

  /** Removes the container; on a lost engine that is not possible (`tmax sandboxes prune` removes it later). */
  async stop(opts?: { delete?: boolean }): Promise<void> {
    try {
      await this.inner?.stop(opts);
    } catch (err) {
      if (!isConnectionError(err)) throw err;
      this.spec.log?.(`could not remove the container: its engine ${this.lease?.member.label ?? ""} does not answer`);
    } finally {
      this.lease?.release();
      this.lease = null;
    }
  }
}

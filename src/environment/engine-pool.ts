import { LeastInFlight, type Lease } from "../util/least-in-flight.js";
import { sleep } from "../util/sleep.js";
import { WorkPool } from "../util/work-pool.js";
import type { Environment, EnvironmentProvider, EnvironmentSpec, ImageSource, ImageStore, PrepareImageOptions } from "./environment.js";
import { isConnectionError } from "./engine-errors.js";
import { PooledEnvironment, type EngineLeases, type PoolMember } from "./pooled-environment.js";

/** One engine of a pool: its provider and the name logs and errors give it (its URL). */
export interface PoolEngine {
  provider: EnvironmentProvider;
  label: string;
}

/** Per-engine limits of an EnginePool. */
export interface EnginePoolLimits {
  /** Containers being created and started at once on one engine. */
  startsPerEngine: number;
  /** Execs (and file copies) in flight at once on one engine. */
  execsPerEngine: number;
  /** How long an engine that failed with a connection error gets no new trials, in milliseconds. */
  benchMs: number;
}

export const DEFAULT_POOL_LIMITS: EnginePoolLimits = { startsPerEngine: 64, execsPerEngine: 256, benchMs: 30_000 };

/**
 * Several container engines (Engine API endpoints) behind one EnvironmentProvider. Each trial's environment goes to
 * the engine with the fewest environments in flight; an engine failing with connection errors is benched for a
 * while and the environments starting on it start elsewhere (one already running there is lost: see
 * PooledEnvironment). Images are prepared per engine, each by its own provider's cache, once. A trial with
 * `network_mode = "allowlist"` goes only to an engine on this host (tmax's egress proxy and firewall are local); with
 * no local engine in the pool it fails at start with an error saying so, and is not run on a remote engine.
 */
export class EnginePool implements EnvironmentProvider, EngineLeases {
  readonly name: string;
  private readonly balance: LeastInFlight<PoolMember>;

  private readonly providers: EnvironmentProvider[];

  constructor(
    engines: readonly PoolEngine[],
    private readonly limits: EnginePoolLimits = DEFAULT_POOL_LIMITS,
    private readonly log: (line: string) => void = () => undefined,
  ) {
    if (engines.length === 0) throw new RangeError("an engine pool needs at least one engine");
    this.name = engines[0]!.provider.name;
    this.providers = engines.map((e) => e.provider);
    this.balance = new LeastInFlight(
      engines.map(({ provider, label }) => ({
        provider,
        label,
        starts: new WorkPool({ concurrency: limits.startsPerEngine }),
        execs: new WorkPool({ concurrency: limits.execsPerEngine }),
      })),
    );
  }

  /** The first engine's store (`tmax images bootstrap` imports into one engine at a time). */
  get imageStore(): ImageStore {
    return this.providers[0]!.imageStore;
  }

  get members(): PoolMember[] {
    return this.balance.members;
  }

  /** True when some engine of the pool is on this host (the only ones allowlist trials go to). */
  get localEngine(): boolean {
    return this.members.some((m) => m.provider.localEngine === true);
  }

  /**
   * Claims the least-loaded engine that is not benched (among those `eligible` picks, which must pick one), waiting
   * while every such engine is.
   */
  async claim(signal?: AbortSignal, eligible: (member: PoolMember) => boolean = () => true): Promise<Lease<PoolMember>> {
    for (;;) {
      signal?.throwIfAborted();
      const lease = this.balance.acquire(eligible);
      if (lease) return lease;
      await sleep(Math.max(50, this.balance.nextAvailableIn(eligible)), signal);
    }
  }

  /** An engine failed with a connection error: no new environments on it for a while. */
  engineFailed(member: PoolMember, err: unknown): void {
    if (this.balance.isBenched(member)) return;
    this.balance.bench(member, this.limits.benchMs);
    this.log(`container engine ${member.label} stopped answering (${(err as Error).message}); no new trials on it for ${this.limits.benchMs / 1000} s`);
  }

  createEnvironment(spec: EnvironmentSpec): Environment {
    return new PooledEnvironment(spec, this);
  }

  /** Prepares the image on every engine that is not benched; resolves with the first engine's image name. */
  async prepareImage(source: ImageSource, opts: PrepareImageOptions = {}): Promise<string> {
    const names = await Promise.all(
      this.members
        .filter((m) => !this.balance.isBenched(m))
        .map(async (m) => {
          try {
            return await m.provider.prepareImage(source, opts);
          } catch (err) {
            if (!isConnectionError(err)) throw err;
            this.engineFailed(m, err);
            return null;
          }
        }),
    );
    const name = names.find((n) => n !== null);
    if (name === undefined || name === null) throw new Error("no container engine of the pool answers");
    return name;
  }

  async removeAll(): Promise<void> {
    await Promise.all(this.providers.map((p) => p.removeAll().catch(() => undefined)));
  }

  async close(): Promise<void> {
    await Promise.all(this.providers.map((p) => p.close().catch(() => undefined)));
    for (const m of this.members) {
      m.starts.close();
      m.execs.close();
    }
  }
}

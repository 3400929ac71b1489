import pc from "picocolors";
import { DEFAULT_POOL_LIMITS, EnginePool } from "../environment/engine-pool.js";
import type { DaytonaConnection, DaytonaProvider } from "../environment/daytona/daytona-provider.js";
import type { EnvironmentProvider } from "../environment/environment.js";
import { openProvider, type EngineProvider, type EnvironmentKind } from "../environment/providers.js";
import type { TmaxSandbox } from "../environment/sandboxes.js";
import type { PruneReport } from "../environment/sweep.js";
import { UsageError } from "./exit-codes.js";

/** Where trials run: a container engine (podman, docker) or Daytona's sandboxes. */
export type BackendKind = EnvironmentKind | "daytona";

/** What `-e daytona` is opened with: the connection flags and how sandboxes outlive a dead run. */
export interface DaytonaOpenOptions extends DaytonaConnection {
  autoStopMinutes?: number;
  keepStopped?: boolean;
}

/** What `tmax sandboxes` needs of a backend: its tmax-labelled sandboxes, and removing the dead runs' ones. */
interface SandboxBackend {
  listSandboxes(): Promise<TmaxSandbox[]>;
  pruneSandboxes(opts: { job?: string }): Promise<PruneReport>;
  close(): Promise<void>;
}

/** Opens Daytona (the SDK is loaded only then); a wrong API key fails here with an error naming DAYTONA_API_KEY. */
async function openDaytona(opts: DaytonaOpenOptions & { signal?: AbortSignal; sweep: boolean }): Promise<DaytonaProvider> {
  const { openDaytonaProvider } = await import("../environment/daytona/daytona-provider.js");
  return openDaytonaProvider({ ...opts, log: warn });
}

function refuseEngines(kind: BackendKind, urls: readonly string[]): void {
  if (kind === "daytona" && urls.length > 0) throw new UsageError("--engine names container engines (podman, docker); -e daytona takes --daytona-api-url instead");
}

const warn = (line: string): void => console.error(pc.yellow(line));

/**
 * Opens the container backend for a command; what dead tmax processes left behind is said on stderr. `signal` is the
 * command's interrupt: it stops image builds and pulls in flight.
 */
export function openEngine(kind: EnvironmentKind, signal: AbortSignal): Promise<EngineProvider> {
  return openProvider(kind, { log: warn, signal });
}

/** The providers of every `--engine` URL (none given: the kind's default engine), closed again if one fails to open. */
async function openAll(kind: EnvironmentKind, urls: readonly string[], opts: { signal?: AbortSignal; sweep: boolean }): Promise<EngineProvider[]> {
  if (urls.length === 0) return [await openProvider(kind, { log: warn, ...opts })];
  const reported = new Set<string>();
  const opened = await Promise.allSettled(urls.map((url) => openProvider(kind, { url, log: warn, reported, ...opts })));
  const providers = opened.flatMap((o) => (o.status === "fulfilled" ? [o.value] : []));
  const failed = opened.find((o): o is PromiseRejectedResult => o.status === "rejected");
  if (failed) {
    await Promise.all(providers.map((p) => p.close()));
    throw failed.reason;
  }
  return providers;
}

/**
 * The backend a job (or any command that makes containers: agent, rollout, gen build, train) runs on: with no
 * `--engine`, the kind's default engine; with one or more, a pool spreading containers over them (least in flight,
 * an unreachable engine benched and its work run elsewhere).
 */
export async function openJobEngines(
  kind: BackendKind,
  urls: readonly string[],
  signal: AbortSignal,
  caps: { startsPerEngine?: number | null; execsPerEngine?: number | null } = {},
  daytona: DaytonaOpenOptions = {},
): Promise<EnvironmentProvider> {
  refuseEngines(kind, urls);
  if (kind === "daytona") return openDaytona({ ...daytona, signal, sweep: true });
  const providers = await openAll(kind, urls, { signal, sweep: true });
  if (urls.length === 0) return providers[0]!;
  const limits = {
    ...DEFAULT_POOL_LIMITS,
    startsPerEngine: caps.startsPerEngine ?? DEFAULT_POOL_LIMITS.startsPerEngine,
    execsPerEngine: caps.execsPerEngine ?? DEFAULT_POOL_LIMITS.execsPerEngine,
  };
  const engines = providers.map((p) => ({ provider: p, label: p.endpoint ?? p.name }));
  return new EnginePool(engines, limits, warn);
}

/** Runs `body` on each engine in turn (for `tmax sandboxes`), named by its URL or kind; every engine is closed after. */
export async function forEachEngine(
  kind: BackendKind,
  urls: readonly string[],
  body: (provider: SandboxBackend, engine: string) => Promise<void>,
  daytona: DaytonaConnection = {},
): Promise<void> {
  refuseEngines(kind, urls);
  if (kind === "daytona") {
    const provider = await openDaytona({ ...daytona, sweep: false });
    try {
      await body(provider, `daytona ${provider.endpoint}`);
    } finally {
      await provider.close();
    }
    return;
  }
  const providers = await openAll(kind, urls, { sweep: false });
  try {
    for (const p of providers) await body(p, p.endpoint ?? p.name);
  } finally {
    await Promise.all(providers.map((p) => p.close()));
  }
}

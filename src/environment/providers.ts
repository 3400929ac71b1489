import Docker from "dockerode";
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { ContainerEnvironment, type ContainerEnvironmentDeps } from "./container-environment.js";
import { ComposeEnvironment } from "./compose-environment.js";
import type { Environment, EnvironmentProvider, EnvironmentSpec, ImageSource, ImageStore, PrepareImageOptions } from "./environment.js";
import { ImageCache } from "./image-cache.js";
import { EngineImageStore } from "./image-store.js";
import { identityOf } from "../util/processes.js";
import { removeSessionRecord, writeSessionRecord } from "./engine-sessions.js";
import { bindMountsPossible, engineClientFor, type EngineClient } from "./engine-client.js";
import { formatEngineAddress, parseEngineUrl } from "./engine-url.js";
import { ownerLabelValue, SESSION_LABEL } from "./labels.js";
import { PodmanService, waitForSocket } from "./podman-service.js";
import { listSandboxes, orphansByJob, type TmaxSandbox } from "./sandboxes.js";
import { forgetEmptySessions, pruneSandboxes, removeAbandonedEgress, stopAbandonedServices, type EgressSweep, type PruneReport } from "./sweep.js";
import { openEgressGate, type EgressGate } from "./egress-gate.js";
import { StorageLimitSupport } from "./engine-requests.js";

export type EnvironmentKind = "podman" | "docker";

/** Both backends speak the Docker Engine API; they differ only in how the API endpoint is found. */
export class EngineProvider implements EnvironmentProvider {
  readonly images: ImageCache;
  readonly imageStore: ImageStore;
  private readonly live = new Set<string>();
  /** Containers stopped and kept on purpose (--no-delete, keep_containers): never removed by removeAll. */
  private readonly kept = new Set<string>();
  /** Allowlist networks with their proxies and firewall rules, closed by removeAll (Ctrl-C) if still open. */
  private readonly gates = new Set<EgressGate>();
  /** Private networks of compose environments, removed by removeAll (Ctrl-C) if still there. */
  private readonly networks = new Set<string>();
  readonly session = randomUUID();
  private readonly ownerLabel = ownerLabelValue({ host: hostname(), process: identityOf(process.pid) });
  /** Where this engine's warnings go (stderr for commands; openProvider sets it). */
  warn: (line: string) => void = () => undefined;
  private readonly storageLimits = new StorageLimitSupport((line) => this.warn(line));

  constructor(
    readonly name: EnvironmentKind,
    private readonly docker: Docker,
    private readonly bindMounts: boolean,
    private readonly service: PodmanService | null,
    signal?: AbortSignal,
    /** The `--engine` URL this provider talks to; null for the kind's default endpoint. */
    readonly endpoint: string | null = null,
    /** Lets go of the client's connections when the provider closes. */
    private readonly client: Pick<EngineClient, "close"> | null = null,
  ) {
    this.imageStore = new EngineImageStore(docker);
    this.images = new ImageCache(docker, this.imageStore, signal);
    // Recorded before any container exists, so a later tmax can clean up after this process if it is killed.
    writeSessionRecord({
      session: this.session,
      engine: name,
      endpoint,
      host: hostname(),
      owner: identityOf(process.pid),
      service: service?.pid ? { process: identityOf(service.pid), dir: service.dir } : null,
      createdAt: new Date().toISOString(),
    });
  }

  /** Whether the engine is on this host (bind mounts work; an allowlist's proxy and firewall can be set up). */
  get localEngine(): boolean {
    return this.bindMounts;
  }

  /** tmax's containers on this engine, with their owners' state (see sandboxes.ts). */
  listSandboxes(): Promise<TmaxSandbox[]> {
    return listSandboxes(this.docker);
  }

  /**
   * Removes the allowlist networks of dead tmax processes on this engine (detaching their containers, which stay) and
   * those sessions' firewall rules (see sweep.ts).
   */
  removeAbandonedEgress(): Promise<EgressSweep> {
    return removeAbandonedEgress(this.docker, this.name, this.endpoint);
  }

  /** Removes the orphans on this engine (all, or those of `job`); never a live run's containers (see sweep.ts). */
  pruneSandboxes(opts: { job?: string } = {}): Promise<PruneReport> {
    return pruneSandboxes(this.docker, this.name, { job: opts.job, endpoint: this.endpoint });
  }

  /** The flags that select this engine again, for the commands tmax suggests. */
  get engineFlags(): string {
    return `${this.name === "podman" ? "" : ` -e ${this.name}`}${this.endpoint ? ` --engine ${this.endpoint}` : ""}`;
  }

  /** PID of the podman service this provider started, if any (for resource accounting). */
  get servicePid(): number | undefined {
    return this.service?.pid;
  }

  /** A container for `spec`, or several (its services on a private network with it: compose-environment.ts). */
  createEnvironment(spec: EnvironmentSpec): Environment {
    const deps = this.containerDeps();
    if (!spec.services?.length) return new ContainerEnvironment(spec, deps);
    return new ComposeEnvironment(spec, {
      ...deps,
      trackNetwork: (id, alive) => {
        if (alive) this.networks.add(id);
        else this.networks.delete(id);
      },
    });
  }

  private containerDeps(): ContainerEnvironmentDeps {
    return {
      docker: this.docker,
      images: this.images,
      bindMounts: this.bindMounts,
      sessionLabel: this.session,
      openEgressGate: async (hosts, trialName, log) => {
        const gate = await openEgressGate({ docker: this.docker, hosts, session: this.session, ownerLabel: this.ownerLabel, trialName, localEngine: this.bindMounts, ...(log ? { log } : {}) });
        const tracked: EgressGate = {
          networkName: gate.networkName,
          proxyEnv: gate.proxyEnv,
          close: async (containerId) => {
            await gate.close(containerId);
            this.gates.delete(tracked);
          },
        };
        this.gates.add(tracked);
        return tracked;
      },
      ownerLabel: this.ownerLabel,
      engineName: this.endpoint ?? this.name,
      storageLimits: this.storageLimits,
      track: (id, alive) => {
        if (alive) this.live.add(id);
        else this.live.delete(id);
      },
      keep: (id) => this.kept.add(id),
    };
  }

  prepareImage(source: ImageSource, opts: PrepareImageOptions = {}): Promise<string> {
    return this.images.ensure(source, opts);
  }

  async removeAll(): Promise<void> {
    const ids = new Set(this.live);
    try {
      const labelled = await this.docker.listContainers({ all: true, filters: { label: [`${SESSION_LABEL}=${this.session}`] } });
      for (const c of labelled) if (!this.kept.has(c.Id)) ids.add(c.Id);
    } catch {
      // listing is best effort; tracked ids are still removed
    }
    await Promise.all(
      [...ids].map(async (id) => {
        try {
          await this.docker.getContainer(id).remove({ force: true, v: true });
        } catch (err) {
          // Anything but "already gone" keeps the id tracked (and the session record on disk).
          if ((err as { statusCode?: number }).statusCode !== 404) {
            this.live.add(id);
            return;
          }
        }
        this.live.delete(id);
      }),
    );
    // After the containers: a network in use cannot be removed. A gate that fails to close keeps its rules.
    await Promise.all([...this.gates].map((g) => g.close().catch(() => undefined)));
    await Promise.all(
      [...this.networks].map(async (id) => {
        await this.docker
          .getNetwork(id)
          .remove()
          .then(() => this.networks.delete(id))
          .catch((err: { statusCode?: number }) => err.statusCode === 404 && this.networks.delete(id));
      }),
    );
  }

  async close(): Promise<void> {
    await this.removeAll();
    await this.service?.stop();
    this.client?.close();
    // Kept if a container or an allowlist network could not be removed: `tmax sandboxes prune` (and each run's
    // warning) still names its owner, and the next run's sweep retries the network and its firewall rules.
    if (this.live.size === 0 && this.gates.size === 0 && this.networks.size === 0) removeSessionRecord(this.session);
  }
}

function socketFromUrl(url: string | undefined): string | null {
  if (!url) return null;
  if (url.startsWith("unix://")) return url.slice("unix://".length);
  if (url.startsWith("/")) return url;
  return null;
}

/**
 * Stderr lines about what dead tmax runs left on this engine: the podman services stopped and the allowlist networks
 * (with their firewall rules) removed — infrastructure — and the orphaned containers, left for `tmax sandboxes prune`.
 */
async function describeLeftovers(provider: EngineProvider, reported: Set<string> | undefined): Promise<string[]> {
  const lines: string[] = [];
  const stopped = await stopAbandonedServices(provider.name);
  if (stopped > 0) lines.push(`stopped ${stopped} podman service(s) left by tmax processes that ended without cleaning up`);
  const where = provider.endpoint ? ` on ${provider.endpoint}` : "";
  const egress = await provider.removeAbandonedEgress();
  if (egress.networks.length > 0) {
    const owners = [...new Set(egress.networks.map((n) => n.ownerPid).filter((p) => p !== null))];
    const by = owners.length > 0 ? ` left by tmax process ${owners.join(", ")}, which ended without cleaning up` : " that no running tmax owns";
    lines.push(`removed ${egress.networks.length} allowlist network(s)${where} and their firewall rules${by}`);
  }
  const sandboxes = await provider.listSandboxes();
  await forgetEmptySessions(provider.name, provider.endpoint, sandboxes, egress.incomplete);
  // Engines sharing one storage (two services on one machine) list the same containers: each is told of once.
  const unreported = reported ? sandboxes.filter((s) => !reported.has(s.id)) : sandboxes;
  for (const s of sandboxes) reported?.add(s.id);
  for (const [job, orphans] of orphansByJob(unreported)) {
    const owners = [...new Set(orphans.map((o) => o.ownerPid).filter((p) => p !== null))];
    const by = owners.length > 0 ? ` left by tmax process ${owners.join(", ")}, which ended without cleaning up` : " that no running tmax owns";
    const what = job ? `of job ${job}` : "with no job";
    lines.push(`${orphans.length} container(s) ${what}${where}${by}; remove them with \`tmax sandboxes prune${provider.engineFlags}${job ? ` --job ${job}` : ""}\``);
  }
  return lines;
}

/**
 * Opens a backend and reports what tmax processes that died without cleaning up left behind (`log` gets a line for
 * each; their podman services are stopped and their allowlist networks and firewall rules removed, their containers
 * are left for `tmax sandboxes prune`). `url` is an
 * `--engine` URL (unix://, tcp://, ssh://); without it: podman uses TMAX_PODMAN_SOCKET / CONTAINER_HOST when set,
 * else starts a private `podman system service` (with tmax's containers.conf unless CONTAINERS_CONF is set) and
 * stops it on close(); docker uses DOCKER_HOST or /var/run/docker.sock. `signal` (the command's interrupt) stops
 * image builds and pulls. `reported`, shared by the engines one command opens, holds the ids of the containers
 * already told of, so that engines on one storage do not repeat each other.
 */
export async function openProvider(
  kind: EnvironmentKind,
  opts: { url?: string; log?: (line: string) => void; sweep?: boolean; signal?: AbortSignal; reported?: Set<string> } = {},
): Promise<EngineProvider> {
  const provider = opts.url ? await connectTo(kind, opts.url, opts.signal) : await connect(kind, opts.signal);
  if (opts.log) provider.warn = opts.log;
  if (opts.sweep === false) return provider;
  try {
    for (const line of await describeLeftovers(provider, opts.reported)) opts.log?.(line);
  } catch (err) {
    opts.log?.(`could not check for containers left by earlier tmax runs: ${(err as Error).message}`);
  }
  return provider;
}

/** A provider on the engine at `url` (an `--engine` value). */
async function connectTo(kind: EnvironmentKind, url: string, signal: AbortSignal | undefined): Promise<EngineProvider> {
  const address = parseEngineUrl(url);
  const endpoint = formatEngineAddress(address);
  if (address.kind === "unix") {
    try {
      await waitForSocket(address.socketPath, 5000);
    } catch (err) {
      throw new Error(`no container engine answers on ${endpoint}: ${(err as Error).message}`, { cause: err });
    }
  }
  const client = engineClientFor(address);
  return new EngineProvider(kind, client.docker, bindMountsPossible(address), null, signal, endpoint, client);
}

async function connect(kind: EnvironmentKind, signal: AbortSignal | undefined): Promise<EngineProvider> {
  if (kind === "podman") {
    const given = socketFromUrl(process.env.TMAX_PODMAN_SOCKET) ?? socketFromUrl(process.env.CONTAINER_HOST);
    if (given) {
      await waitForSocket(given, 5000);
      return new EngineProvider("podman", new Docker({ socketPath: given }), true, null, signal);
    }
    const service = await PodmanService.start();
    return new EngineProvider("podman", new Docker({ socketPath: service.socketPath }), true, service, signal);
  }
  const host = process.env.DOCKER_HOST;
  const socket = socketFromUrl(host) ?? (host ? null : "/var/run/docker.sock");
  if (socket) {
    try {
      await waitForSocket(socket, 3000);
    } catch {
      throw new Error(`no Docker engine answers on ${socket}. Start Docker, set DOCKER_HOST, or use --env podman.`);
    }
    return new EngineProvider("docker", new Docker({ socketPath: socket }), true, null, signal);
  }
  // Remote engine (tcp://): no bind mounts; trial logs are downloaded at the end.
  return new EngineProvider("docker", new Docker(), false, null, signal);
}

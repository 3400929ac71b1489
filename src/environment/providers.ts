import Docker from "dockerode";
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { ContainerEnvironment } from "./container-environment.js";
import type { Environment, EnvironmentProvider, EnvironmentSpec, ImageSource, ImageStore, PrepareImageOptions } from "./environment.js";
import { ImageCache } from "./image-cache.js";
import { EngineImageStore } from "./image-store.js";
import { identityOf } from "../util/processes.js";
import { removeSessionRecord, writeSessionRecord } from "./engine-sessions.js";
import { PodmanService, waitForSocket } from "./podman-service.js";
import { describeSweep, SESSION_LABEL, sweepAbandoned, type SweepReport } from "./sweep.js";
import { openEgressGate, type EgressGate } from "./egress-gate.js";

export type EnvironmentKind = "podman" | "docker";

/** Both backends speak the Docker Engine API; they differ only in how the API endpoint is found. */
export class EngineProvider implements EnvironmentProvider {
  readonly images: ImageCache;
  readonly imageStore: ImageStore;
  private readonly live = new Set<string>();
  /** Allowlist networks with their proxies and firewall rules, closed by removeAll (Ctrl-C) if still open. */
  private readonly gates = new Set<EgressGate>();
  readonly session = randomUUID();

  constructor(
    readonly name: EnvironmentKind,
    private readonly docker: Docker,
    private readonly bindMounts: boolean,
    private readonly service: PodmanService | null,
    signal?: AbortSignal,
  ) {
    this.imageStore = new EngineImageStore(docker);
    this.images = new ImageCache(docker, this.imageStore, signal);
    // Recorded before any container exists, so a later tmax can clean up after this process if it is killed.
    writeSessionRecord({
      session: this.session,
      engine: name,
      host: hostname(),
      owner: identityOf(process.pid),
      service: service?.pid ? { process: identityOf(service.pid), dir: service.dir } : null,
      createdAt: new Date().toISOString(),
    });
  }

  /** Removes containers and podman services of tmax processes that died without cleaning up (see sweep.ts). */
  sweepAbandoned(opts: { unrecorded?: boolean } = {}): Promise<SweepReport> {
    return sweepAbandoned(this.docker, this.name, { currentSession: this.session, unrecorded: opts.unrecorded });
  }

  /** PID of the podman service this provider started, if any (for resource accounting). */
  get servicePid(): number | undefined {
    return this.service?.pid;
  }

  createEnvironment(spec: EnvironmentSpec): Environment {
    return new ContainerEnvironment(spec, {
      docker: this.docker,
      images: this.images,
      bindMounts: this.bindMounts,
      sessionLabel: this.session,
      openEgressGate: async (hosts, trialName, log) => {
        const gate = await openEgressGate({ docker: this.docker, hosts, session: this.session, trialName, localEngine: this.bindMounts, ...(log ? { log } : {}) });
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
      track: (id, alive) => {
        if (alive) this.live.add(id);
        else this.live.delete(id);
      },
    });
  }

  prepareImage(source: ImageSource, opts: PrepareImageOptions = {}): Promise<string> {
    return this.images.ensure(source, opts);
  }

  async removeAll(): Promise<void> {
    const ids = new Set(this.live);
    try {
      const labelled = await this.docker.listContainers({ all: true, filters: { label: [`${SESSION_LABEL}=${this.session}`] } });
      for (const c of labelled) ids.add(c.Id);
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
  }

  async close(): Promise<void> {
    await this.removeAll();
    await this.service?.stop();
    // Kept if a container could not be removed: the next run's sweep retries it.
    if (this.live.size === 0 && this.gates.size === 0) removeSessionRecord(this.session);
  }
}

function socketFromUrl(url: string | undefined): string | null {
  if (!url) return null;
  if (url.startsWith("unix://")) return url.slice("unix://".length);
  if (url.startsWith("/")) return url;
  return null;
}

/**
 * Opens a backend and sweeps up after tmax processes that died without cleaning up (their containers and podman
 * services; `log` gets a line for each). podman: uses TMAX_PODMAN_SOCKET / CONTAINER_HOST when set, else starts a
 * private `podman system service` (with tmax's containers.conf unless CONTAINERS_CONF is set) and stops it on
 * close(). docker: DOCKER_HOST or /var/run/docker.sock. `signal` (the command's interrupt) stops image builds and pulls.
 */
export async function openProvider(
  kind: EnvironmentKind,
  opts: { log?: (line: string) => void; sweep?: boolean; signal?: AbortSignal } = {},
): Promise<EngineProvider> {
  const provider = await connect(kind, opts.signal);
  if (opts.sweep === false) return provider;
  try {
    for (const line of describeSweep(await provider.sweepAbandoned())) opts.log?.(line);
  } catch (err) {
    opts.log?.(`could not check for containers left by earlier tmax runs: ${(err as Error).message}`);
  }
  return provider;
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

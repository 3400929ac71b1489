import { randomBytes } from "node:crypto";
import type { Readable } from "node:stream";
import type Docker from "dockerode";
import { sleep } from "../util/sleep.js";
import { setLongTimeout, type LongTimeout } from "../util/timers.js";
import { ContainerEnvironment, type ContainerEnvironmentDeps } from "./container-environment.js";
import type { Environment, EnvironmentSpec, ExecOptions, ExecResult, ServiceCondition, ServiceSpec, UploadDirOptions } from "./environment.js";
import { JOB_LABEL, OWNER_LABEL, SESSION_LABEL, TRIAL_LABEL } from "./labels.js";

/**
 * An environment of several containers, as docker compose runs a task's docker-compose.yaml: the services first, in
 * their dependency order (each waited for as its dependents ask: started, healthy, or exited 0), then the main
 * container, all on a private network of their own where each is reachable by its service name and the main one as
 * `main`. With `none` network the private network is internal (the services reach each other, nothing reaches out);
 * an allowlist is refused. Everything the agent and the verifier do happens in the main container; stop() removes
 * the services and the network with it.
 */

export interface ComposeEnvironmentDeps extends ContainerEnvironmentDeps {
  /** Called with the network id when created and removed, so the provider can remove it on Ctrl-C. */
  trackNetwork: (id: string, alive: boolean) => void;
}

/** The label naming the compose service a container runs. */
const SERVICE_LABEL = "tmax.service";

const CONDITION_RANK: Record<ServiceCondition, number> = { service_started: 0, service_healthy: 1, service_completed_successfully: 1 };

/** What each service must reach before those after it start: the strongest condition any dependent asks of it. */
function requiredConditions(services: ServiceSpec[], main: EnvironmentSpec["mainDependsOn"]): Map<string, ServiceCondition> {
  const out = new Map<string, ServiceCondition>();
  for (const d of [...services.flatMap((s) => s.dependsOn), ...(main ?? [])]) {
    const now = out.get(d.service);
    if (!now || CONDITION_RANK[d.condition] > CONDITION_RANK[now]) out.set(d.service, d.condition);
  }
  return out;
}

/** Runs `command` in `container` (no shell unless it is one) and resolves with its exit code; -1 after `timeoutSec`. */
async function execExitCode(container: Docker.Container, command: string[], timeoutSec: number): Promise<number> {
  const exec = await container.exec({ Cmd: command, AttachStdout: true, AttachStderr: true });
  const stream = (await exec.start({ hijack: true, stdin: false })) as unknown as Readable;
  stream.resume();
  let timer: LongTimeout | undefined;
  const ended = new Promise<boolean>((resolve) => {
    stream.once("end", () => resolve(true));
    stream.once("close", () => resolve(true));
    stream.once("error", () => resolve(true));
    timer = setLongTimeout(() => resolve(false), timeoutSec * 1000);
  });
  const inTime = await ended;
  timer?.clear();
  if (!inTime) {
    stream.destroy();
    return -1;
  }
  for (let i = 0; i < 100; i++) {
    const info = await exec.inspect();
    if (!info.Running) return info.ExitCode ?? -1;
    await sleep(20);
  }
  return -1;
}

export class ComposeEnvironment implements Environment {
  private readonly main: ContainerEnvironment;
  private networkId: string | null = null;
  private readonly services: { name: string; container: Docker.Container }[] = [];
  private stopped = false;
  readonly id: string;
  readonly networkName: string;

  constructor(
    private readonly spec: EnvironmentSpec,
    private readonly deps: ComposeEnvironmentDeps,
  ) {
    this.networkName = `tmax-compose-${randomBytes(5).toString("hex")}`;
    this.main = new ContainerEnvironment(spec, deps, { name: this.networkName, aliases: ["main"] });
    this.id = this.main.id;
  }

  get mounted(): boolean {
    return this.main.mounted;
  }

  private labels(service: string): Record<string, string> {
    const { spec, deps } = this;
    return {
      ...spec.labels,
      [SESSION_LABEL]: deps.sessionLabel,
      [OWNER_LABEL]: deps.ownerLabel,
      [TRIAL_LABEL]: spec.trialName,
      [SERVICE_LABEL]: service,
      ...(spec.jobId ? { [JOB_LABEL]: spec.jobId } : {}),
    };
  }

  async start(opts: { forceBuild?: boolean; signal?: AbortSignal } = {}): Promise<void> {
    const { spec, deps } = this;
    if (spec.network.mode === "allowlist") throw new Error(`${spec.displayName}: network_mode = "allowlist" cannot be enforced for a docker-compose environment`);
    const created = await deps.docker.createNetwork({
      Name: this.networkName,
      Driver: "bridge",
      Internal: spec.network.mode === "none",
      Labels: { [SESSION_LABEL]: deps.sessionLabel, [OWNER_LABEL]: deps.ownerLabel, [TRIAL_LABEL]: spec.trialName },
    });
    this.networkId = created.id;
    deps.trackNetwork(created.id, true);
    if (this.stopped) throw new Error("environment was stopped during start");
    const required = requiredConditions(spec.services ?? [], spec.mainDependsOn);
    for (const service of spec.services ?? []) {
      opts.signal?.throwIfAborted();
      const container = await this.startService(service, opts);
      await this.waitFor(service, container, required.get(service.name) ?? "service_started", opts.signal);
    }
    opts.signal?.throwIfAborted();
    await this.main.start(opts);
  }

  private async startService(service: ServiceSpec, opts: { forceBuild?: boolean; signal?: AbortSignal }): Promise<Docker.Container> {
    const { spec, deps } = this;
    const image = await deps.images.ensure(service.image, {
      forceBuild: opts.forceBuild,
      signal: opts.signal,
      log: spec.log,
      displayName: `${spec.displayName} (service ${service.name})`,
    });
    const container = await deps.docker.createContainer({
      name: `${this.id}_${service.name.toLowerCase().replace(/[^a-z0-9_.-]+/g, "-")}_${randomBytes(3).toString("hex")}`,
      Image: image,
      Env: Object.entries(service.env).map(([k, v]) => `${k}=${v}`),
      ...(service.command ? { Cmd: service.command } : {}),
      ...(service.entrypoint ? { Entrypoint: service.entrypoint } : {}),
      ...(service.workdir ? { WorkingDir: service.workdir } : {}),
      ...(service.user ? { User: service.user } : {}),
      Labels: this.labels(service.name),
      HostConfig: { NetworkMode: this.networkName },
      NetworkingConfig: { EndpointsConfig: { [this.networkName]: { Aliases: [service.name] } } },
    });
    this.services.push({ name: service.name, container });
    deps.track(container.id, true);
    if (this.stopped) throw new Error("environment was stopped during start");
    await container.start().catch((err: unknown) => {
      throw new Error(`${spec.displayName}: service ${service.name} did not start: ${(err as Error).message}`, { cause: err });
    });
    spec.log?.(`service ${service.name}: container ${container.id.slice(0, 12)} started`);
    return container;
  }

  /** Waits until `service` meets `condition` (healthy by its healthcheck, or exited 0). */
  private async waitFor(service: ServiceSpec, container: Docker.Container, condition: ServiceCondition, signal?: AbortSignal): Promise<void> {
    const name = `${this.spec.displayName}: service ${service.name}`;
    if (condition === "service_completed_successfully") {
      const { StatusCode } = (await container.wait()) as { StatusCode: number };
      if (StatusCode !== 0) throw new Error(`${name} exited with ${StatusCode} (depends_on asks it to complete successfully)`);
      this.spec.log?.(`service ${service.name}: completed`);
      return;
    }
    if (condition !== "service_healthy") return;
    const hc = service.healthcheck;
    if (!hc) throw new Error(`${name} has no healthcheck, but depends_on asks it to be healthy`);
    const startedAt = Date.now();
    let failures = 0;
    for (;;) {
      signal?.throwIfAborted();
      if ((await execExitCode(container, hc.command, hc.timeoutSec)) === 0) {
        this.spec.log?.(`service ${service.name}: healthy`);
        return;
      }
      const inStartPeriod = (Date.now() - startedAt) / 1000 < hc.startPeriodSec;
      if (!inStartPeriod && ++failures >= hc.retries) throw new Error(`${name} did not become healthy (${failures} failed healthchecks)`);
      await sleep(Math.max(0.05, hc.intervalSec) * 1000, signal);
    }
  }

  exec(command: string, opts?: ExecOptions): Promise<ExecResult> {
    return this.main.exec(command, opts);
  }
  uploadFile(src: string, dst: string): Promise<void> {
    return this.main.uploadFile(src, dst);
  }
  uploadDir(srcDir: string, dstDir: string, opts?: UploadDirOptions): Promise<void> {
    return this.main.uploadDir(srcDir, dstDir, opts);
  }
  downloadFile(src: string, dst: string): Promise<void> {
    return this.main.downloadFile(src, dst);
  }
  downloadDir(srcDir: string, dstDir: string): Promise<void> {
    return this.main.downloadDir(srcDir, dstDir);
  }
  isDir(path: string): Promise<boolean> {
    return this.main.isDir(path);
  }
  isFile(path: string): Promise<boolean> {
    return this.main.isFile(path);
  }

  async stop(opts: { delete?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.main.stop(opts);
    const keep = opts.delete === false;
    for (const { container } of this.services.splice(0)) {
      try {
        if (keep) await container.kill().catch(() => undefined);
        else await container.remove({ force: true, v: true });
        this.deps.track(container.id, false);
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode === 404) this.deps.track(container.id, false);
      }
    }
    if (this.networkId && !keep) {
      await this.deps.docker
        .getNetwork(this.networkId)
        .remove()
        .catch(() => undefined);
      this.deps.trackNetwork(this.networkId, false);
    }
  }
}

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "node:http";
import { sleep } from "../util/sleep.js";
import { setLongTimeout } from "../util/timers.js";

/**
 * tmax's own containers.conf: podman's default nofile ulimit exceeds some hosts' hard limit, crun cannot run on
 * hybrid cgroups, cgroupfs works without systemd, and exec sessions are cleaned up quickly. Used only when the user
 * has not set CONTAINERS_CONF.
 */
export function defaultContainersConf(): string {
  const hasRunc = spawnSync("sh", ["-c", "command -v runc"], { stdio: "ignore" }).status === 0;
  return [
    "# written by tmax; set CONTAINERS_CONF to use your own",
    "[containers]",
    "default_ulimits = []",
    "[engine]",
    ...(hasRunc ? ['runtime = "runc"'] : []),
    // Each API exec leaves a conmon waiting this long before cleaning the session up (Docker-like: 300 s). tmax reads
    // exit codes at once, so a short delay keeps thousands of idle conmons from piling up during a job.
    "exit_command_delay = 10",
    'cgroup_manager = "cgroupfs"',
    "",
  ].join("\n");
}

export function podmanAvailable(): boolean {
  return spawnSync("podman", ["--version"], { stdio: "ignore" }).status === 0;
}

export const PODMAN_INSTALL_HINT =
  "podman is not installed. On Debian/Ubuntu: sudo apt-get install -y podman runc (see README, 'Setup').";

/** Resolves when GET /_ping on the socket answers, or rejects after `timeoutMs`. */
export async function waitForSocket(socketPath: string, timeoutMs: number, isAlive: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      if (!existsSync(socketPath)) return resolve(false);
      const req = request({ socketPath, path: "/_ping", method: "GET", timeout: 1000 }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on("error", () => resolve(false));
      req.on("timeout", () => {
        req.destroy();
        resolve(false);
      });
      req.end();
    });
    if (ok) return;
    if (!isAlive()) throw new Error("podman system service exited during start-up");
    if (Date.now() > deadline) throw new Error(`podman API socket ${socketPath} did not answer within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/**
 * A `podman system service` on a private unix socket, owned by this process. It runs detached, in a session of its
 * own: a terminal's Ctrl-C goes to the whole foreground process group, and the service must outlive that signal
 * long enough for tmax to remove its containers through it. tmax stops it when done (and kills it on exit); if
 * tmax itself is killed, the session record names it so a later run can stop it (see sweep.ts).
 */
export class PodmanService {
  private exited = false;
  private constructor(
    readonly socketPath: string,
    /** Private dir holding the socket and tmax's containers.conf; removed when the service stops. */
    readonly dir: string,
    private readonly child: ChildProcess,
    readonly containersConf: string,
    private readonly stderrTail: () => string,
  ) {
    child.once("exit", () => {
      this.exited = true;
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  static async start(opts: { containersConf?: string } = {}): Promise<PodmanService> {
    if (!podmanAvailable()) throw new Error(PODMAN_INSTALL_HINT);
    const dir = mkdtempSync(join(tmpdir(), "tmax-podman-"));
    let conf = opts.containersConf ?? process.env.CONTAINERS_CONF;
    if (!conf) {
      conf = join(dir, "containers.conf");
      writeFileSync(conf, defaultContainersConf());
    }
    const socketPath = join(dir, "podman.sock");
    const child = spawn("podman", ["system", "service", "--time=0", `unix://${socketPath}`], {
      env: { ...process.env, CONTAINERS_CONF: conf },
      stdio: ["ignore", "ignore", "pipe"],
      detached: true,
    });
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    const service = new PodmanService(socketPath, dir, child, conf, () => stderr);
    // Never leave the service behind, even on an abrupt exit of this process.
    process.once("exit", service.killSync);
    try {
      await waitForSocket(socketPath, 30_000, () => !service.exited);
    } catch (err) {
      await service.stop();
      throw new Error(`${(err as Error).message}\n${service.stderrTail()}`.trim(), { cause: err });
    }
    return service;
  }

  private readonly killSync = (): void => {
    if (!this.exited) this.child.kill("SIGKILL");
    rmSync(this.dir, { recursive: true, force: true });
  };

  async stop(): Promise<void> {
    process.removeListener("exit", this.killSync);
    if (!this.exited) {
      const exited = new Promise<void>((r) => this.child.once("exit", () => r()));
      this.child.kill("SIGTERM");
      const timer = setLongTimeout(() => this.child.kill("SIGKILL"), 5000);
      await exited;
      timer.clear();
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

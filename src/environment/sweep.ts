import { readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import type Docker from "dockerode";
import { sleep } from "../util/sleep.js";
import { identityOf, isAlive, parentPidOf, type ProcessIdentity } from "../util/processes.js";
import { abandonedSessions, readSessionRecords, removeSessionRecord, writeSessionRecord } from "./engine-sessions.js";
import { listSandboxes, type TmaxSandbox } from "./sandboxes.js";

/**
 * Cleaning up after tmax processes that died without doing it themselves (SIGKILL, OOM, power loss): the podman
 * services they started (dead weight: stopped whenever a tmax opens an engine) and their containers (removed only on
 * request, by `tmax sandboxes prune`: a crashed run's sandboxes may be worth a look first). Containers whose owner
 * still runs are never touched, whatever is asked: stop that run instead.
 */

/** The private socket dir of a `podman system service` that tmax started: <tmpdir>/tmax-podman-XXXXXX. */
const SERVICE_DIR = /^unix:\/\/(.*\/tmax-podman-[^/]+)\/podman\.sock$/;

/** Whether `ppid` is a node process (then the service may belong to a running tmax and is left alone). */
function parentMayBeTmax(ppid: number): boolean {
  try {
    const argv0 = readFileSync(`/proc/${ppid}/cmdline`, "utf8").split("\0")[0] ?? "";
    return /(^|\/)node[^/]*$/.test(argv0);
  } catch {
    return false;
  }
}

/**
 * podman services started by tmax (recognised by their command line and socket dir) whose parent is no longer a tmax
 * process (they were re-parented) and that no session record names.
 */
function unrecordedServices(): { process: ProcessIdentity; dir: string }[] {
  const named = new Set(readSessionRecords().flatMap((r) => (r.service ? [r.service.dir] : [])));
  const out: { process: ProcessIdentity; dir: string }[] = [];
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((n) => /^\d+$/.test(n));
  } catch {
    return out;
  }
  for (const name of pids) {
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0");
      if (!argv[0]?.endsWith("podman") || argv[1] !== "system" || argv[2] !== "service") continue;
      const dir = argv.map((a) => SERVICE_DIR.exec(a)?.[1]).find((d) => d !== undefined);
      if (!dir || !dir.startsWith(tmpdir()) || named.has(dir)) continue;
      const ppid = parentPidOf(Number(name));
      if (ppid === null || parentMayBeTmax(ppid)) continue;
      out.push({ process: identityOf(Number(name)), dir });
    } catch {
      // the process ended while we looked, or is not readable
    }
  }
  return out;
}

/** Stops an orphaned podman service, but only if the pid still belongs to the process that was recorded. */
async function stopOrphanService(p: ProcessIdentity): Promise<boolean> {
  if (!isAlive(p)) return false;
  try {
    process.kill(p.pid, "SIGTERM");
  } catch {
    return false;
  }
  for (let i = 0; i < 50 && isAlive(p); i++) await sleep(100);
  if (isAlive(p)) {
    try {
      process.kill(p.pid, "SIGKILL");
    } catch {
      // gone in the meantime
    }
  }
  return true;
}

/** Stops the podman services recorded by dead tmax sessions of `engine` (their containers stay); returns how many. */
export async function stopAbandonedServices(engine: string): Promise<number> {
  let stopped = 0;
  for (const record of abandonedSessions(engine)) {
    if (!record.service) continue;
    if (await stopOrphanService(record.service.process)) stopped++;
    rmSync(record.service.dir, { recursive: true, force: true });
    writeSessionRecord({ ...record, service: null });
  }
  return stopped;
}

/**
 * Forgets the records of dead sessions of this endpoint that have no container among `sandboxes` (the engine's
 * listing), stopping their podman services; returns how many services were stopped.
 */
export async function forgetEmptySessions(engine: string, endpoint: string | null, sandboxes: readonly TmaxSandbox[]): Promise<number> {
  const remaining = new Set(sandboxes.map((s) => s.session));
  let stopped = 0;
  for (const record of abandonedSessions(engine)) {
    if ((record.endpoint ?? null) !== endpoint || remaining.has(record.session)) continue;
    if (record.service) {
      if (await stopOrphanService(record.service.process)) stopped++;
      rmSync(record.service.dir, { recursive: true, force: true });
    }
    removeSessionRecord(record.session);
  }
  return stopped;
}

export interface PruneReport {
  removed: TmaxSandbox[];
  /** Matching containers left alone: their owner runs (or runs on another host, where tmax cannot tell). */
  kept: TmaxSandbox[];
  /** Orphans the engine refused to remove. */
  failed: { sandbox: TmaxSandbox; error: string }[];
  servicesStopped: number;
}

async function removeSandbox(docker: Docker, sandbox: TmaxSandbox): Promise<string | null> {
  try {
    await docker.getContainer(sandbox.id).remove({ force: true, v: true });
    return null;
  } catch (err) {
    return (err as { statusCode?: number }).statusCode === 404 ? null : (err as Error).message;
  }
}

/**
 * Removes the orphaned tmax containers of one engine (all of them, or those of `job`), then forgets the records of
 * dead sessions of this endpoint that have no container left, and stops the podman services they or nobody claims.
 */
export async function pruneSandboxes(docker: Docker, engine: string, opts: { job?: string; endpoint: string | null }): Promise<PruneReport> {
  const report: PruneReport = { removed: [], kept: [], failed: [], servicesStopped: 0 };
  const matching = (await listSandboxes(docker)).filter((s) => opts.job === undefined || s.job === opts.job);
  for (const sandbox of matching) {
    if (sandbox.owner !== "dead") {
      report.kept.push(sandbox);
      continue;
    }
    const error = await removeSandbox(docker, sandbox);
    if (error === null) report.removed.push(sandbox);
    else report.failed.push({ sandbox, error });
  }
  report.servicesStopped += await forgetEmptySessions(engine, opts.endpoint, await listSandboxes(docker));
  if (opts.job === undefined) {
    for (const service of unrecordedServices()) {
      if (await stopOrphanService(service.process)) report.servicesStopped++;
      rmSync(service.dir, { recursive: true, force: true });
    }
  }
  return report;
}

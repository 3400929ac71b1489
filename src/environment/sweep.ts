import { readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import type Docker from "dockerode";
import { sleep } from "../util/sleep.js";
import { identityOf, isAlive, parentPidOf, type ProcessIdentity } from "../util/processes.js";
import { RULE_TAG_PREFIX, removeTaggedRules } from "./egress-firewall.js";
import { abandonedSessions, readSessionRecords, removeSessionRecord, writeSessionRecord } from "./engine-sessions.js";
import { SESSION_LABEL } from "./labels.js";
import { judgeOwnerOf, listSandboxes, type TmaxSandbox } from "./sandboxes.js";

/**
 * Cleaning up after tmax processes that died without doing it themselves (SIGKILL, OOM, power loss): the podman
 * services they started and their allowlist networks with those networks' host firewall rules (infrastructure, not
 * evidence, and an internal network whose rules outlive it is harmful: removed whenever a tmax opens an engine), and
 * their containers (removed only on request, by `tmax sandboxes prune`: a crashed run's sandboxes may be worth a look
 * first; a container left behind is detached from its allowlist network first, so it keeps no network but loopback).
 * Whatever belongs to an owner that still runs is never touched, whatever is asked: stop that run instead.
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

export interface EgressSweep {
  /** Allowlist networks removed, by the pid of the dead tmax process that made them (null: unknown). */
  networks: { session: string; ownerPid: number | null }[];
  /** Sessions with a network (and so firewall rules) still in place: their records must stay for a retry. */
  incomplete: Set<string>;
}

/** Detaches every container from `network` (a dead session's: its proxy died with it), then removes the network. */
async function removeNetwork(docker: Docker, id: string): Promise<boolean> {
  const network = docker.getNetwork(id);
  try {
    const info = (await network.inspect()) as { Containers?: Record<string, unknown> };
    for (const container of Object.keys(info.Containers ?? {})) {
      await network.disconnect({ Container: container, Force: true }).catch(() => undefined);
    }
    await network.remove();
    return true;
  } catch (err) {
    return (err as { statusCode?: number }).statusCode === 404;
  }
}

/**
 * Removes the allowlist networks (egress-gate.ts) on this engine whose tmax process is dead — detaching the containers
 * still on them, which stay for `tmax sandboxes prune` — and the host firewall rules of those sessions and of the dead
 * sessions recorded for this engine and endpoint (whose networks would have been on this listing). Never the rules of a
 * network that could not be removed, or of a dead session of another engine (its network may still be there): a
 * bridge is never left without its rules.
 */
export async function removeAbandonedEgress(docker: Docker, engine: string, endpoint: string | null): Promise<EgressSweep> {
  const out: EgressSweep = { networks: [], incomplete: new Set() };
  const records = readSessionRecords();
  const dead = new Set(abandonedSessions(engine).filter((r) => (r.endpoint ?? null) === endpoint).map((r) => r.session));
  const byId = new Map(records.map((r) => [r.session, r]));
  const networks = await docker.listNetworks({ filters: { label: [SESSION_LABEL] } });
  for (const n of networks) {
    const labels = n.Labels ?? {};
    const session = labels[SESSION_LABEL] ?? "";
    const owner = judgeOwnerOf(session, labels, byId);
    if (owner.state !== "dead") continue;
    dead.add(session);
    if (await removeNetwork(docker, n.Id)) out.networks.push({ session, ownerPid: owner.pid });
    else out.incomplete.add(session);
  }
  const sessions = [...dead].filter((s) => s && !out.incomplete.has(s));
  if (sessions.length > 0) {
    const prefixes = sessions.map((s) => `${RULE_TAG_PREFIX}${s}:`);
    try {
      await removeTaggedRules((tag) => prefixes.some((p) => tag.startsWith(p)));
    } catch {
      for (const s of sessions) out.incomplete.add(s);
    }
  }
  return out;
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
 * listing) and none in `keep` (sessions whose allowlist network or rules are still there), stopping their podman
 * services; returns how many services were stopped.
 */
export async function forgetEmptySessions(
  engine: string,
  endpoint: string | null,
  sandboxes: readonly TmaxSandbox[],
  keep: ReadonlySet<string> = new Set(),
): Promise<number> {
  const remaining = new Set(sandboxes.map((s) => s.session));
  let stopped = 0;
  for (const record of abandonedSessions(engine)) {
    if ((record.endpoint ?? null) !== endpoint || remaining.has(record.session) || keep.has(record.session)) continue;
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
  /** Allowlist networks of dead sessions removed (with their firewall rules). */
  networksRemoved: number;
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
 * Removes the orphaned tmax containers of one engine (all of them, or those of `job`), then the allowlist networks and
 * firewall rules of dead sessions (removeAbandonedEgress), forgets the records of dead sessions of this endpoint that
 * have nothing left, and stops the podman services they or nobody claims.
 */
export async function pruneSandboxes(docker: Docker, engine: string, opts: { job?: string; endpoint: string | null }): Promise<PruneReport> {
  const report: PruneReport = { removed: [], kept: [], failed: [], servicesStopped: 0, networksRemoved: 0 };
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
  const egress = await removeAbandonedEgress(docker, engine, opts.endpoint);
  report.networksRemoved = egress.networks.length;
  report.servicesStopped += await forgetEmptySessions(engine, opts.endpoint, await listSandboxes(docker), egress.incomplete);
  if (opts.job === undefined) {
    for (const service of unrecordedServices()) {
      if (await stopOrphanService(service.process)) report.servicesStopped++;
      rmSync(service.dir, { recursive: true, force: true });
    }
  }
  return report;
}

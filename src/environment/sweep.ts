import { readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import type Docker from "dockerode";
import { sleep } from "../util/sleep.js";
import { identityOf, isAlive, parentPidOf, type ProcessIdentity } from "../util/processes.js";
import { RULE_TAG_PREFIX, removeTaggedRules } from "./egress-firewall.js";
import { abandonedSessions, liveSessionIds, readSessionRecords, removeSessionRecord, type SessionRecord } from "./engine-sessions.js";

/** The label every tmax container carries; its value is the session (one tmax process) that created it. */
export const SESSION_LABEL = "tmax.session";

export interface SweepReport {
  /** Sessions of dead tmax processes whose leftovers were removed. */
  sessions: { session: string; ownerPid: number; containers: number; networks: number; serviceStopped: boolean }[];
  /** Containers labelled by tmax whose session has no live owner and no record (e.g. an older tmax). */
  unrecorded: number;
  /** Orphaned podman services of tmax (parent gone) that no record names, stopped with their socket dirs. */
  unrecordedServices: number;
}

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

async function removeContainers(docker: Docker, ids: string[]): Promise<number> {
  let removed = 0;
  await Promise.all(
    ids.map(async (id) => {
      try {
        await docker.getContainer(id).remove({ force: true, v: true });
        removed++;
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode === 404) removed++;
      }
    }),
  );
  return removed;
}

/** Removes the allowlist networks of `session` (egress-gate.ts) and their firewall rules; true when all are gone. */
async function removeEgressLeftovers(docker: Docker, session: string): Promise<{ networks: number; complete: boolean }> {
  const list = await docker.listNetworks({ filters: { label: [`${SESSION_LABEL}=${session}`] } });
  let networks = 0;
  let complete = true;
  for (const n of list) {
    try {
      await docker.getNetwork(n.Id).remove();
      networks++;
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) networks++;
      else complete = false;
    }
  }
  // Rules of a network that could not be removed stay, so its bridge stays closed off.
  if (complete) {
    try {
      await removeTaggedRules((tag) => tag.startsWith(`${RULE_TAG_PREFIX}${session}:`));
    } catch {
      complete = false;
    }
  }
  return { networks, complete };
}

async function containersOf(docker: Docker, session: string): Promise<string[]> {
  const list = await docker.listContainers({ all: true, filters: { label: [`${SESSION_LABEL}=${session}`] } });
  return list.map((c) => c.Id);
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

async function sweepSession(docker: Docker, record: SessionRecord): Promise<SweepReport["sessions"][number]> {
  const ids = await containersOf(docker, record.session);
  const containers = await removeContainers(docker, ids);
  const egress = containers === ids.length ? await removeEgressLeftovers(docker, record.session) : { networks: 0, complete: false };
  let serviceStopped = false;
  if (record.service) {
    serviceStopped = await stopOrphanService(record.service.process);
    rmSync(record.service.dir, { recursive: true, force: true });
  }
  // Keep the record while anything of it could not be removed, so the next sweep tries again.
  if (containers === ids.length && egress.complete) removeSessionRecord(record.session);
  return { session: record.session, ownerPid: record.owner.pid, containers, networks: egress.networks, serviceStopped };
}

/**
 * Removes what tmax processes on this host left behind when they died without cleaning up: their containers
 * (found by session label) and the podman services they started. With `unrecorded`, also every container with a
 * tmax session label that no live tmax process claims (left by a tmax too old to keep records).
 */
export async function sweepAbandoned(docker: Docker, engine: string, opts: { currentSession?: string; unrecorded?: boolean } = {}): Promise<SweepReport> {
  const report: SweepReport = { sessions: [], unrecorded: 0, unrecordedServices: 0 };
  for (const record of abandonedSessions(engine)) {
    if (record.session === opts.currentSession) continue;
    report.sessions.push(await sweepSession(docker, record));
  }
  if (opts.unrecorded) {
    const live = liveSessionIds();
    if (opts.currentSession) live.add(opts.currentSession);
    const all = await docker.listContainers({ all: true, filters: { label: [SESSION_LABEL] } });
    const orphans = all.filter((c) => !live.has(c.Labels?.[SESSION_LABEL] ?? "")).map((c) => c.Id);
    report.unrecorded = await removeContainers(docker, orphans);
    const networks = await docker.listNetworks({ filters: { label: [SESSION_LABEL] } });
    const orphanSessions = new Set(networks.map((n) => n.Labels?.[SESSION_LABEL] ?? "").filter((s) => s && !live.has(s)));
    for (const session of orphanSessions) await removeEgressLeftovers(docker, session).catch(() => undefined);
    for (const service of unrecordedServices()) {
      if (await stopOrphanService(service.process)) report.unrecordedServices++;
      rmSync(service.dir, { recursive: true, force: true });
    }
  }
  return report;
}

/** One line per swept session, for stderr; empty when there was nothing to sweep. */
export function describeSweep(report: SweepReport): string[] {
  const lines = report.sessions.map(
    (s) =>
      `removed ${s.containers} container(s)${s.networks > 0 ? `, ${s.networks} allowlist network(s)` : ""}${s.serviceStopped ? " and a podman service" : ""} left by tmax process ${s.ownerPid}, which ended without cleaning up`,
  );
  if (report.unrecorded > 0) lines.push(`removed ${report.unrecorded} tmax container(s) no running tmax process owns`);
  if (report.unrecordedServices > 0) lines.push(`stopped ${report.unrecordedServices} orphaned tmax podman service(s)`);
  return lines;
}

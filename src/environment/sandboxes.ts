import type Docker from "dockerode";
import { isAlive } from "../util/processes.js";
import { readSessionRecords, type SessionRecord } from "./engine-sessions.js";
import { JOB_LABEL, OWNER_LABEL, parseOwnerLabel, SESSION_LABEL, thisHost, TRIAL_LABEL, type ContainerOwner } from "./labels.js";

/**
 * The containers tmax made on one engine, as `tmax sandboxes list` shows them, with a verdict on their owner: a
 * container whose owning tmax process is gone is an orphan (the process was SIGKILLed, OOM-killed, lost power).
 */

/** `alive`: the owning tmax process runs; `dead`: it is gone (or nothing names it); `unknown`: it ran on another host. */
export type OwnerState = "alive" | "dead" | "unknown";

export interface TmaxSandbox {
  id: string;
  name: string;
  /** The engine's container state (running, exited, created…). */
  state: string;
  job: string | null;
  session: string;
  trial: string | null;
  ownerPid: number | null;
  ownerHost: string | null;
  owner: OwnerState;
  createdAt: string;
}

/** The owner's state, from the session's record when this host has one, else from the container's owner label. */
function judgeOwner(owner: ContainerOwner | null): OwnerState {
  if (!owner) return "dead";
  if (owner.host !== thisHost()) return "unknown";
  return isAlive(owner.process) ? "alive" : "dead";
}

function ownerOf(session: string, labels: Record<string, string>, records: ReadonlyMap<string, SessionRecord>): ContainerOwner | null {
  const record = records.get(session);
  if (record) return { host: record.host, process: record.owner };
  return parseOwnerLabel(labels[OWNER_LABEL]);
}

/**
 * The owner's state and pid for anything carrying tmax's labels (a container, an allowlist network), judged as
 * `tmax sandboxes list` judges containers.
 */
export function judgeOwnerOf(
  session: string,
  labels: Record<string, string>,
  records: ReadonlyMap<string, SessionRecord>,
): { state: OwnerState; pid: number | null } {
  const owner = ownerOf(session, labels, records);
  return { state: judgeOwner(owner), pid: owner?.process.pid ?? null };
}

/** Every container on the engine that carries tmax's session label, oldest first. */
export async function listSandboxes(docker: Docker): Promise<TmaxSandbox[]> {
  const records = new Map(readSessionRecords().map((r) => [r.session, r]));
  const containers = await docker.listContainers({ all: true, filters: { label: [SESSION_LABEL] } });
  return containers
    .map((c): TmaxSandbox => {
      const labels = c.Labels ?? {};
      const session = labels[SESSION_LABEL] ?? "";
      const owner = ownerOf(session, labels, records);
      return {
        id: c.Id,
        name: (c.Names?.[0] ?? "").replace(/^\//, ""),
        state: c.State,
        job: labels[JOB_LABEL] ?? null,
        session,
        trial: labels[TRIAL_LABEL] ?? null,
        ownerPid: owner?.process.pid ?? null,
        ownerHost: owner?.host ?? null,
        owner: judgeOwner(owner),
        createdAt: new Date(c.Created * 1000).toISOString(),
      };
    })
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

/** Orphans grouped by job (null: containers with no job label), for the warning a new run prints. */
export function orphansByJob(sandboxes: readonly TmaxSandbox[]): Map<string | null, TmaxSandbox[]> {
  const out = new Map<string | null, TmaxSandbox[]>();
  for (const s of sandboxes) {
    if (s.owner !== "dead") continue;
    out.set(s.job, [...(out.get(s.job) ?? []), s]);
  }
  return out;
}

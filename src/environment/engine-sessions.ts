import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { isAlive, type ProcessIdentity } from "../util/processes.js";

/**
 * Every tmax process that opens a container engine leaves a record here before it creates anything: its pid (with
 * the kernel's start time, so a reused pid is not mistaken for it), the session label its containers carry, and
 * the podman service it started, if any. A process that dies without cleaning up (SIGKILL, OOM, power loss) leaves
 * its record behind; a later tmax finds it, sees the owner is gone, and removes what the record names — and only
 * that, so other users' and other tools' containers are never touched.
 */
export interface SessionRecord {
  /** Value of the `tmax.session` label on every container of this session. */
  session: string;
  engine: string;
  /** The Engine API endpoint it used (`--engine` URL); null for the default one (a private podman service, DOCKER_HOST…). */
  endpoint?: string | null;
  host: string;
  owner: ProcessIdentity;
  /** The `podman system service` this session started, with its private socket dir. */
  service: { process: ProcessIdentity; dir: string } | null;
  createdAt: string;
}

export function sessionsDir(): string {
  return process.env.TMAX_SESSIONS_DIR ?? join(tmpdir(), "tmax-sessions");
}

function recordPath(session: string): string {
  return join(sessionsDir(), `${session}.json`);
}

export function writeSessionRecord(record: SessionRecord): void {
  mkdirSync(sessionsDir(), { recursive: true, mode: 0o700 });
  const file = recordPath(record.session);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(record, null, 2) + "\n", { mode: 0o600 });
  renameSync(tmp, file);
}

export function removeSessionRecord(session: string): void {
  rmSync(recordPath(session), { force: true });
}

function isRecord(v: unknown): v is SessionRecord {
  const r = v as Partial<SessionRecord> | null;
  return !!r && typeof r.session === "string" && typeof r.engine === "string" && typeof r.owner?.pid === "number";
}

/** Every readable record; unreadable or foreign files in the directory are skipped. */
export function readSessionRecords(): SessionRecord[] {
  let names: string[];
  try {
    names = readdirSync(sessionsDir());
  } catch {
    return [];
  }
  const out: SessionRecord[] = [];
  for (const name of names) {
    if (!name.endsWith(".json")) continue;
    try {
      const parsed: unknown = JSON.parse(readFileSync(join(sessionsDir(), name), "utf8"));
      if (isRecord(parsed)) out.push(parsed);
    } catch {
      // a half-written or foreign file: not a record
    }
  }
  return out;
}

/** Records left by tmax processes on this host that ended without cleaning up. */
export function abandonedSessions(engine: string): SessionRecord[] {
  const host = hostname();
  return readSessionRecords().filter((r) => r.engine === engine && r.host === host && !isAlive(r.owner));
}

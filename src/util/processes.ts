import { readFileSync } from "node:fs";

/**
 * Local processes as Linux reports them in /proc, for deciding whether a recorded process (a tmax run holding a
 * lock, a podman service it started) still lives.
 */

/** A process as the kernel knows it: pid plus start time (clock ticks after boot; null where /proc is missing). */
export interface ProcessIdentity {
  pid: number;
  startTicks: number | null;
}

/** The fields of /proc/<pid>/stat after the parenthesised command name (which may hold spaces): state, ppid, …. */
function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}

/** The parent's pid, or null when the process is gone. */
export function parentPidOf(pid: number): number | null {
  const ppid = Number(statFields(pid)?.[1]);
  return Number.isFinite(ppid) ? ppid : null;
}

/** Field 22 of /proc/<pid>/stat: when the process started. */
function startTicksOf(pid: number): number | null {
  const ticks = Number(statFields(pid)?.[19]);
  return Number.isFinite(ticks) ? ticks : null;
}

export function identityOf(pid: number): ProcessIdentity {
  return { pid, startTicks: startTicksOf(pid) };
}

/**
 * Whether the process is still the one recorded: the pid exists (one of another user's counts: it is not ours to
 * judge dead) and, where its start time was recorded, started then.
 */
export function isAlive(p: ProcessIdentity): boolean {
  try {
    process.kill(p.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  if (p.startTicks === null) return true;
  const now = startTicksOf(p.pid);
  return now === null || now === p.startTicks;
}

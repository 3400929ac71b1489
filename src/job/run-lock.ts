import { randomUUID } from "node:crypto";
import { linkSync, mkdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { z } from "zod";
import { sleep } from "../util/sleep.js";
import { localIso } from "../util/time.js";
import { jobFile } from "./layout.js";
import { isAlive } from "../util/processes.js";

/**
 * The run lock of a job directory: `.tmax-run.lock`, tmax's own file (Harbor's lock.json records what ran, it locks
 * nothing). A run holds it while it writes the directory, so two runs of one job (two `tmax run --resume` at once)
 * cannot both discard, plan and run its trials. The file names its holder (pid, host, start time) and is created
 * atomically: written in full under a temporary name, then hard-linked into place, so it never exists half-written.
 * It is removed when the run ends, also after an error and on a forced exit (process.exit). A lock left behind by a
 * run that died (same host, its process gone) is taken over; of several runs taking it over at once, one wins.
 */

const holderSchema = z.object({ pid: z.number().int().positive(), host: z.string(), started_at: z.string(), token: z.string() });

/** Who holds a run lock. `token` tells one acquisition from any other, also of a later process with the same pid. */
export type RunLockHolder = z.infer<typeof holderSchema>;

/** The job directory is in use by another run, or holds a lock file that names no holder. */
export class JobLockedError extends Error {
  override name = "JobLockedError";
  constructor(
    message: string,
    readonly holder: RunLockHolder | null,
  ) {
    super(message);
  }
}

export interface RunLock {
  readonly holder: RunLockHolder;
  /** Removes the lock file if it is still this lock's; later calls do nothing. */
  release(): void;
}

/** Tries when a dead holder's lock is being taken over by another run at the same moment, and the pause between. */
const TAKEOVER_TRIES = 40;
const TAKEOVER_PAUSE_MS = 25;

/**
 * Takes the run lock of `jobDir` (created when missing) for this process. Throws JobLockedError naming the holder
 * when another live run holds it, or when it is held from another host (whose processes cannot be checked).
 */
export async function acquireRunLock(jobDir: string): Promise<RunLock> {
  mkdirSync(jobDir, { recursive: true });
  const path = jobFile(jobDir, "runLock");
  const me: RunLockHolder = { pid: process.pid, host: hostname(), started_at: localIso(), token: randomUUID() };
  for (let tries = 1; ; tries++) {
    if (createExclusive(path, JSON.stringify(me, null, 4) + "\n")) return heldLock(path, me);
    const holder = readHolder(path, jobDir);
    if (holder === null) continue; // released just now: try again
    if (!isDead(holder)) {
      throw new JobLockedError(
        `${jobDir} is in use by another tmax run (pid ${holder.pid} on ${holder.host}, started ${holder.started_at}); ` +
          `wait for it to end or stop it. If that run is gone, remove ${path}`,
        holder,
      );
    }
    if (takeOver(path, holder, jobDir)) continue;
    if (tries >= TAKEOVER_TRIES) {
      throw new JobLockedError(
        `${jobDir}: the lock of a run that ended (pid ${holder.pid}) is being taken over by another run that does not finish; ` +
          `if no tmax run is using the directory, remove ${path} and ${takeOverMarker(path, holder)}`,
        holder,
      );
    }
    await sleep(TAKEOVER_PAUSE_MS);
  }
}

/** Creates `path` holding `text` unless it exists; false when it does. Readers never see a partial file. */
function createExclusive(path: string, text: string): boolean {
  const staged = `${path}.${randomUUID()}.tmp`;
  writeFileSync(staged, text);
  try {
    linkSync(staged, path);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return false;
    // A filesystem without hard links: an exclusive create (the file is empty for a moment after it appears).
    if (code === "EPERM" || code === "ENOTSUP" || code === "EOPNOTSUPP") return createWithExclusiveOpen(path, text);
    throw err;
  } finally {
    rmSync(staged, { force: true });
  }
}

function createWithExclusiveOpen(path: string, text: string): boolean {
  try {
    writeFileSync(path, text, { flag: "wx" });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
}

/** The lock's holder, or null when there is no lock file (any more). */
function readHolder(path: string, jobDir: string): RunLockHolder | null {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
  let parsed: unknown = undefined;
  try {
    parsed = JSON.parse(text);
  } catch {
    // reported below
  }
  const holder = holderSchema.safeParse(parsed);
  if (!holder.success) throw new JobLockedError(`${path} does not name the run holding it; if no tmax run is using ${jobDir}, remove it`, null);
  return holder.data;
}

/** A holder on this host whose process is gone. (One on another host cannot be checked, and counts as alive.) */
function isDead(holder: RunLockHolder): boolean {
  // No start time is recorded: a reused pid counts as alive (and the message says how to remove the lock).
  return holder.host === hostname() && !isAlive({ pid: holder.pid, startTicks: null });
}

const takeOverMarker = (path: string, holder: RunLockHolder): string => `${path}.${holder.token}.takeover`;

/**
 * Removes a dead holder's lock. Runs taking over the same lock take turns through a marker file named after its
 * token: the one that creates the marker removes the lock if it still is that holder's. While the marker exists the
 * lock cannot change (only a marker's creator removes another's lock, and tokens never repeat), so a lock taken
 * meanwhile by another run is never removed. False when another run holds the marker.
 */
function takeOver(path: string, holder: RunLockHolder, jobDir: string): boolean {
  const marker = takeOverMarker(path, holder);
  if (!createWithExclusiveOpen(marker, `${process.pid}\n`)) return false;
  try {
    if (readHolder(path, jobDir)?.token === holder.token) unlinkSync(path);
  } finally {
    rmSync(marker, { force: true });
  }
  return true;
}

function heldLock(path: string, me: RunLockHolder): RunLock {
  let held = true;
  const release = (): void => {
    if (!held) return;
    held = false;
    process.off("exit", release);
    try {
      const text = readFileSync(path, "utf8");
      if ((JSON.parse(text) as { token?: unknown }).token === me.token) unlinkSync(path);
    } catch {
      // Gone already, or not this lock's any more: nothing to remove.
    }
  };
  // A forced exit (a second Ctrl-C ends with process.exit) skips every finally block, but not this.
  process.on("exit", release);
  return { holder: me, release };
}

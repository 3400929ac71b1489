import { chmod, lstat, readdir } from "node:fs/promises";
import { join } from "node:path";

/**
 * The trial's log dirs are bind-mounted into the container and must be writable by whichever user the agent and the
 * verifier run as, so the environment makes them world-writable on the host. While the trial runs, its directory
 * is closed to everyone but its owner (a bind mount does not need the host path to be traversable), so no other
 * local user can reach those dirs; afterwards nothing under it stays writable by group or others.
 */
export async function closeWhileRunning(trialDir: string): Promise<void> {
  await chmod(trialDir, 0o700);
}

/** Removes group/other write from everything under `trialDir` (symlinks untouched) and opens the dir for reading. */
export async function restoreModes(trialDir: string): Promise<void> {
  const walk = async (path: string): Promise<void> => {
    let st;
    try {
      st = await lstat(path);
    } catch {
      return;
    }
    if (st.isSymbolicLink()) return;
    const mode = st.mode & 0o7777 & ~0o022;
    if (mode !== (st.mode & 0o7777)) await chmod(path, mode).catch(() => undefined); // not ours (rootless): left
    if (!st.isDirectory()) return;
    const entries = await readdir(path).catch(() => [] as string[]);
    for (const name of entries) await walk(join(path, name));
  };
  await walk(trialDir);
  await chmod(trialDir, 0o755).catch(() => undefined);
}

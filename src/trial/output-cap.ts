import { lstat, open, readdir, truncate } from "node:fs/promises";
import { join } from "node:path";

/**
 * The container writes straight into the trial's log dirs (bind mounts), so nothing but the host's free space
 * bounds them. A cap watches each dir: once the bytes on disk under it pass the cap, every file in it is frozen at
 * its size then (the largest cut so the dir fits), a marker line is appended where it was cut, and anything written
 * later — growth of a frozen file or a new file — is cut back at the next look. A writer that keeps writing
 * through an open descriptor only leaves holes, which take no space.
 */

/** Default cap per log dir (agent/, verifier/, artifacts/): generous for logs, small next to a disk. */
export const DEFAULT_MAX_LOG_BYTES = 1024 * 1024 * 1024;

const CHECK_INTERVAL_MS = 1000;

function marker(dir: string, cap: number): string {
  return `\n[tmax: output truncated here — ${dir} passed its cap of ${cap} bytes]\n`;
}

interface FileState {
  /** Allocated bytes (holes take none). */
  used: number;
  size: number;
}

async function scan(dir: string): Promise<Map<string, FileState>> {
  const out = new Map<string, FileState>();
  const walk = async (path: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(path);
    } catch {
      return;
    }
    for (const name of names) {
      const full = join(path, name);
      try {
        const st = await lstat(full);
        if (st.isDirectory()) await walk(full);
        else if (st.isFile()) out.set(full, { used: st.blocks * 512, size: st.size });
      } catch {
        // removed while we looked
      }
    }
  };
  await walk(dir);
  return out;
}

/**
 * Cuts `file` to `size` bytes and writes the marker right there (its end becomes the file's allowed size). The
 * marker is written at that offset, not appended: a writer still writing through its own descriptor extends the file
 * between the two calls, and an appended marker would land beyond the cut, to be cut away by the next look.
 */
async function cut(file: string, size: number, text: string): Promise<number> {
  await truncate(file, size);
  const fh = await open(file, "r+");
  try {
    await fh.write(text, size);
  } finally {
    await fh.close();
  }
  return size + Buffer.byteLength(text);
}

export interface LogDirCap {
  /** Looks once now (also what the timer does). Resolves with whether the dir is over its cap (frozen). */
  check(): Promise<boolean>;
  /** Forgets the frozen state, e.g. after the dir was emptied. */
  reset(): void;
  stop(): void;
  /** Stops the timer, waits for a look in progress, then looks once more: the last word once no writer is left
   *  (a look that began before the last writes would miss them). */
  settle(): Promise<boolean>;
  /** Whether the dir ever passed its cap. */
  readonly capped: boolean;
}

/** Watches `dir` (see the module comment); `onCapped` is told once, when the dir first passes the cap. */
export function capLogDir(dir: string, capBytes: number, onCapped?: (dir: string) => void, intervalMs = CHECK_INTERVAL_MS): LogDirCap {
  /** Allowed size per file once frozen; null while under the cap. */
  let frozen: Map<string, number> | null = null;
  let everCapped = false;
  let running: Promise<boolean> | null = null;
  const text = marker(dir, capBytes);

  /** Files that carry the marker already. */
  const marked = new Set<string>();
  const cutAndMark = async (file: string, size: number): Promise<number> => {
    marked.add(file);
    return cut(file, size, text).catch(() => size);
  };

  const look = async (): Promise<boolean> => {
    const files = await scan(dir);
    if (frozen === null) {
      let used = 0;
      for (const f of files.values()) used += f.used;
      if (used <= capBytes) return false;
      const allowed = new Map<string, number>();
      frozen = allowed;
      if (!everCapped) onCapped?.(dir);
      everCapped = true;
      // Largest first: cut each until the dir fits (the marker counted), keep the rest as they are.
      let excess = used - capBytes;
      for (const [file, st] of [...files].sort((a, b) => b[1].used - a[1].used)) {
        if (excess > 0 && st.size > 0) {
          excess += Buffer.byteLength(text);
          const keep = Math.max(0, st.size - excess);
          excess -= st.size - keep;
          allowed.set(file, await cutAndMark(file, keep));
        } else allowed.set(file, st.size);
      }
      return true;
    }
    for (const [file, st] of files) {
      const allowed = frozen.get(file);
      if (allowed === undefined) frozen.set(file, await cutAndMark(file, 0));
      else if (st.size > allowed) {
        if (marked.has(file)) await truncate(file, allowed).catch(() => undefined);
        else frozen.set(file, await cutAndMark(file, allowed));
      }
    }
    return true;
  };
  const check = (): Promise<boolean> => (running ??= look().finally(() => (running = null)));
  const timer = setInterval(() => void check().catch(() => undefined), intervalMs);
  timer.unref();
  return {
    check,
    reset: () => {
      frozen = null;
      marked.clear();
    },
    stop: () => clearInterval(timer),
    settle: async () => {
      clearInterval(timer);
      await running?.catch(() => undefined);
      return check();
    },
    get capped() {
      return everCapped;
    },
  };
}

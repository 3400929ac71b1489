import { createHash } from "node:crypto";
import { copyFile, link, mkdir, open, readdir, rename, rm } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";

/** Every regular file under `root`, as sorted POSIX-style relative paths. Symlinks are listed, not followed. */
export async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(dir: string): Promise<void> {
    const entries = await readdir(dir, { withFileTypes: true });
    for (const e of entries) {
      const full = join(dir, e.name);
      if (e.isDirectory()) await walk(full);
      else if (e.isFile() || e.isSymbolicLink()) out.push(relative(root, full).split(sep).join("/"));
    }
  }
  await walk(root);
  return out.sort();
}

/**
 * tmax's directory digest: SHA-256 over, for each file in sorted relative-path order,
 * `path NUL byte-length NUL bytes`. Stable across machines; not equal to Harbor's own value. Files are read as
 * streams (any size); a file that cannot be opened counts as empty.
 */
export async function directoryChecksum(root: string): Promise<string> {
  const hash = createHash("sha256");
  for (const rel of await listFiles(root)) {
    const handle = await open(join(root, rel)).catch(() => null);
    try {
      const st = await handle?.stat();
      const size = st?.isFile() ? st.size : 0;
      hash.update(rel);
      hash.update("\0");
      hash.update(String(size));
      hash.update("\0");
      if (handle && size > 0) {
        const bytes = handle.createReadStream({ start: 0, end: size - 1, highWaterMark: 1024 * 1024, autoClose: false });
        for await (const chunk of bytes) hash.update(chunk as Buffer);
      }
    } finally {
      await handle?.close();
    }
  }
  return hash.digest("hex");
}

/**
 * `dest` becomes a copy of the directory `src` made of hard links (no data copied; it outlives `src`), replacing
 * whatever `dest` was: built under `dest.partial`, then renamed into place. Falls back to copying a file that cannot
 * be linked (another filesystem).
 */
export async function linkTree(src: string, dest: string): Promise<void> {
  const partial = `${dest}.partial`;
  await rm(partial, { recursive: true, force: true });
  for (const rel of await listFiles(src)) {
    const to = join(partial, rel);
    await mkdir(dirname(to), { recursive: true });
    await link(join(src, rel), to).catch(() => copyFile(join(src, rel), to));
  }
  await rm(dest, { recursive: true, force: true });
  await rename(partial, dest);
}

import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";

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
 * `path NUL byte-length NUL bytes`. Stable across machines; not equal to Harbor's own value.
 */
export async function directoryChecksum(root: string): Promise<string> {
  const hash = createHash("sha256");
  for (const rel of await listFiles(root)) {
    const bytes = await readFile(join(root, rel)).catch(() => Buffer.alloc(0));
    hash.update(rel);
    hash.update("\0");
    hash.update(String(bytes.length));
    hash.update("\0");
    hash.update(bytes);
  }
  return hash.digest("hex");
}

import { createWriteStream } from "node:fs";
import { lstat, mkdir, readFile, readlink, symlink, chmod, rm } from "node:fs/promises";
import { dirname, join, normalize, sep } from "node:path";
import { pipeline } from "node:stream/promises";
import type { Readable } from "node:stream";
import tar from "tar-stream";
import { listFiles } from "../util/file-tree.js";

async function collect(pack: tar.Pack): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A tar archive of the contents of `dir` (paths relative to it, prefixed by `prefix` if given). */
export async function tarDirectory(dir: string, prefix = ""): Promise<Buffer> {
  const pack = tar.pack();
  const done = collect(pack);
  const dirsAdded = new Set<string>();
  const addParents = (rel: string): void => {
    const parts = rel.split("/").slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const d = parts.slice(0, i).join("/");
      if (!dirsAdded.has(d)) {
        dirsAdded.add(d);
        pack.entry({ name: prefix + d + "/", type: "directory", mode: 0o755 });
      }
    }
  };
  for (const rel of await listFiles(dir)) {
    const full = join(dir, ...rel.split("/"));
    const st = await lstat(full);
    addParents(rel);
    if (st.isSymbolicLink()) {
      pack.entry({ name: prefix + rel, type: "symlink", linkname: await readlink(full), mode: 0o777 });
    } else {
      pack.entry({ name: prefix + rel, mode: st.mode & 0o7777, mtime: st.mtime }, await readFile(full));
    }
  }
  pack.finalize();
  return done;
}

/** A tar archive holding one file under `name`. */
export async function tarFile(src: string, name: string): Promise<Buffer> {
  const st = await lstat(src);
  const pack = tar.pack();
  const done = collect(pack);
  pack.entry({ name, mode: st.mode & 0o7777, mtime: st.mtime }, await readFile(src));
  pack.finalize();
  return done;
}

function drain(entry: { on(ev: "end", cb: () => void): unknown; resume(): unknown }): Promise<void> {
  return new Promise((resolve) => {
    entry.on("end", () => resolve());
    entry.resume();
  });
}

/**
 * Extracts a tar stream into `dstDir`, dropping the first `strip` path components (a Docker archive of /a/b holds
 * entries `b/...`). Refuses entries that would escape `dstDir`.
 */
export async function extractTar(
  stream: Readable,
  dstDir: string,
  opts: { strip?: number; rename?: (path: string) => string | null } = {},
): Promise<number> {
  const strip = opts.strip ?? 0;
  const extract = tar.extract();
  let files = 0;
  const root = normalize(dstDir);
  const work = (async () => {
    for await (const entry of extract) {
      const h = entry.header;
      let rel = h.name.split("/").filter((p) => p !== "" && p !== ".").slice(strip).join("/");
      if (opts.rename) rel = opts.rename(rel) ?? "";
      const target = rel === "" ? root : normalize(join(root, rel));
      if (rel === "" || (target !== root && !target.startsWith(root + sep))) {
        await drain(entry);
        continue;
      }
      if (h.type === "directory") {
        await mkdir(target, { recursive: true });
        await drain(entry);
      } else if (h.type === "symlink" && h.linkname) {
        await mkdir(dirname(target), { recursive: true });
        await rm(target, { force: true });
        await symlink(h.linkname, target);
        await drain(entry);
      } else if (h.type === "file" || h.type === "contiguous-file") {
        await mkdir(dirname(target), { recursive: true });
        await pipeline(entry, createWriteStream(target));
        if (h.mode) await chmod(target, h.mode & 0o777).catch(() => undefined);
        files++;
      } else {
        await drain(entry);
      }
    }
  })();
  await Promise.all([pipeline(stream, extract), work]);
  return files;
}

import { once } from "node:events";
import { createReadStream, createWriteStream, type Stats } from "node:fs";
import { chmod, lstat, mkdir, readlink, rm, stat, symlink } from "node:fs/promises";
import { dirname, join, normalize, sep } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";
import { errorMessage } from "../util/errors.js";
import { listFiles } from "../util/file-tree.js";

/** Bytes read from a file at a time: large enough for few reads, small enough that memory stays flat. */
const READ_CHUNK = 1024 * 1024;

/**
 * A tar archive as a stream, built while it is read: `add` starts at the first read and adds entries one after
 * another, each file read as a stream, so memory stays bounded whatever the files' sizes. When `add` fails, the
 * stream fails with its error.
 */
function packStream(add: (pack: tar.Pack) => Promise<void>): Readable {
  async function* chunks(): AsyncGenerator<Buffer> {
    const pack = tar.pack();
    let failure: Error | null = null;
    const adding = add(pack).then(
      () => pack.finalize(),
      (err: unknown) => {
        failure = err instanceof Error ? err : new Error(String(err));
        pack.destroy(failure);
      },
    );
    try {
      for await (const chunk of pack) yield chunk as Buffer;
    } catch (err) {
      throw failure ?? err;
    } finally {
      // Also reached when the reader goes away early: stop adding (the entry in progress fails), let `add` settle.
      pack.destroy();
      await adding;
    }
  }
  return Readable.from(chunks(), { objectMode: false });
}

/** Adds an entry without content (a directory, a symlink) once the entries before it are written. */
function addEmpty(pack: tar.Pack, header: Parameters<tar.Pack["entry"]>[0]): Promise<void> {
  return new Promise((resolve, reject) => pack.entry(header, (err) => (err ? reject(err) : resolve())));
}

/** Adds the regular file `file` as `name`: the `st.size` bytes stat reported, read as a stream. Errors name the file. */
async function addFile(pack: tar.Pack, name: string, file: string, st: Stats): Promise<void> {
  let entry!: ReturnType<tar.Pack["entry"]>;
  const added = new Promise<void>((resolve, reject) => {
    entry = pack.entry({ name, size: st.size, mode: st.mode & 0o7777, mtime: st.mtime }, (err) => (err ? reject(err) : resolve()));
  });
  // Failures reach `added` (the entry's callback). Awaited below; until then these keep an early failure (the
  // archive destroyed) from counting as unhandled.
  added.catch(() => undefined);
  entry.on("error", () => undefined);
  try {
    let copied = 0;
    if (st.size > 0) {
      for await (const chunk of createReadStream(file, { end: st.size - 1, highWaterMark: READ_CHUNK })) {
        const bytes = chunk as Buffer;
        copied += bytes.length;
        if (!entry.write(bytes)) await Promise.race([once(entry, "drain"), added]);
      }
    }
    if (copied !== st.size) throw new Error(`it changed while being read (${copied} of ${st.size} bytes)`);
    entry.end(null);
    await added;
  } catch (err) {
    // The entry is left unfinished: the failure destroys the whole archive (packStream), the entry with it.
    throw notAdded(file, err);
  }
}

function notAdded(file: string, err: unknown): Error {
  return new Error(`${file}: could not be added to the archive: ${errorMessage(err)}`, { cause: err });
}

/** stat or lstat (`followLinks` false) of a file to archive; an error names the file. */
async function statForArchive(file: string, followLinks: boolean): Promise<Stats> {
  try {
    return await (followLinks ? stat(file) : lstat(file));
  } catch (err) {
    throw notAdded(file, err);
  }
}

/**
 * A tar stream of the contents of `dir` (paths relative to it, prefixed by `prefix` if given), without the files
 * `exclude` is true for. Files are read while the stream is consumed, one at a time: any size works, and an
 * unreadable file fails the stream with its path.
 */
export function tarDirectory(dir: string, prefix = "", exclude?: ((relPath: string) => boolean) | null): Readable {
  return packStream(async (pack) => {
    const dirsAdded = new Set<string>();
    for (const rel of await listFiles(dir)) {
      if (exclude?.(rel)) continue;
      const parts = rel.split("/").slice(0, -1);
      for (let i = 1; i <= parts.length; i++) {
        const d = parts.slice(0, i).join("/");
        if (dirsAdded.has(d)) continue;
        dirsAdded.add(d);
        await addEmpty(pack, { name: prefix + d + "/", type: "directory", mode: 0o755 });
      }
      const full = join(dir, ...rel.split("/"));
      const st = await statForArchive(full, false);
      if (st.isSymbolicLink()) {
        await addEmpty(pack, { name: prefix + rel, type: "symlink", linkname: await readlink(full), mode: 0o777 });
      } else {
        await addFile(pack, prefix + rel, full, st);
      }
    }
  });
}

/** A tar stream holding the file `src` (a symlink is followed) under `name`; read while the stream is consumed. */
export function tarFile(src: string, name: string): Readable {
  return packStream(async (pack) => {
    const st = await statForArchive(src, true);
    if (!st.isFile()) throw notAdded(src, "not a regular file");
    await addFile(pack, name, src, st);
  });
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

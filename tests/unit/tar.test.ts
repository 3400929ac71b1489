import assert from "node:assert/strict";
import { lstatSync, mkdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { after, describe, test } from "node:test";
import tar from "tar-stream";
import { extractTar, tarDirectory, tarFile } from "../../src/environment/tar.js";
import { tempDir } from "../helpers/task-fixture.js";

const GiB = 1024 ** 3;
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function scratch(): string {
  const d = tempDir("tmax-tar-");
  dirs.push(d);
  return d;
}

/** Reads an archive as tar and reports each entry's name and byte count, keeping no content. */
async function entrySizes(archive: Readable): Promise<{ entries: [string, number][]; archiveBytes: number }> {
  const extract = tar.extract();
  const entries: [string, number][] = [];
  let archiveBytes = 0;
  archive.on("data", (c: Buffer) => (archiveBytes += c.length));
  const reading = (async () => {
    for await (const entry of extract) {
      let n = 0;
      for await (const c of entry) n += (c as Buffer).length;
      entries.push([entry.header.name, n]);
    }
  })();
  await Promise.all([pipeline(archive, extract), reading]);
  return { entries, archiveBytes };
}

describe("tar archives are streamed", () => {
  test("a sparse 3 GiB file goes through whole, with memory far below its size", async () => {
    const dir = scratch();
    const big = join(dir, "big.bin");
    writeFileSync(big, "head");
    truncateSync(big, 3 * GiB); // sparse: costs no disk
    const rss0 = process.memoryUsage().rss;
    let peak = rss0;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
    try {
      const { entries, archiveBytes } = await entrySizes(tarFile(big, "renamed.bin"));
      assert.deepEqual(entries, [["renamed.bin", 3 * GiB]]);
      assert.equal(archiveBytes, 512 + 3 * GiB + 1024, "header, content, end-of-archive blocks");
    } finally {
      clearInterval(sampler);
    }
    const grewMb = (peak - rss0) / 2 ** 20;
    assert.ok(grewMb < 256, `rss grew by ${grewMb.toFixed(0)} MB while streaming 3 GiB`);
  });

  test("a directory round-trips: nested files, modes, symlinks, the prefix", async () => {
    const src = scratch();
    mkdirSync(join(src, "sub", "deeper"), { recursive: true });
    writeFileSync(join(src, "a.txt"), "A");
    writeFileSync(join(src, "sub", "deeper", "run.sh"), "echo hi\n", { mode: 0o755 });
    writeFileSync(join(src, "empty"), "");
    symlinkSync("a.txt", join(src, "link"));
    const out = scratch();
    const files = await extractTar(tarDirectory(src, "into/"), out);
    assert.equal(files, 3);
    assert.equal(readFileSync(join(out, "into", "a.txt"), "utf8"), "A");
    assert.equal(readFileSync(join(out, "into", "sub", "deeper", "run.sh"), "utf8"), "echo hi\n");
    assert.equal(lstatSync(join(out, "into", "sub", "deeper", "run.sh")).mode & 0o777, 0o755);
    assert.equal(readFileSync(join(out, "into", "empty"), "utf8"), "");
    assert.equal(readlinkSync(join(out, "into", "link")), "a.txt");
  });

  test("a file that cannot be read fails the stream with an error naming it", async () => {
    const dir = scratch();
    await assert.rejects(entrySizes(tarFile(join(dir, "missing.bin"), "x")), (err: Error) => {
      assert.match(err.message, /missing\.bin: could not be added to the archive: ENOENT/);
      return true;
    });
    await assert.rejects(entrySizes(tarFile(dir, "x")), /tmax-tar-\w+: could not be added to the archive: .*not a regular file/);
  });

  test("a file that shrinks while it is read fails the stream naming it (no short entry)", async () => {
    const src = scratch();
    writeFileSync(join(src, "a.txt"), "A");
    const shrinking = join(src, "b.bin");
    writeFileSync(shrinking, "");
    truncateSync(shrinking, 64 * 2 ** 20);
    const archive = tarDirectory(src);
    let seen = 0;
    archive.on("data", (c: Buffer) => {
      const before = seen;
      seen += c.length;
      if (before < 2 ** 20 && seen >= 2 ** 20) truncateSync(shrinking, 0); // b.bin is being read by then
    });
    await assert.rejects(entrySizes(archive), /b\.bin: could not be added to the archive: it changed while being read \(\d+ of 67108864 bytes\)/);
  });
});

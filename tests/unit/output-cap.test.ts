import assert from "node:assert/strict";
import { closeSync, openSync, readFileSync, statSync, writeFileSync, writeSync, mkdirSync } from "node:fs";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { capLogDir } from "../../src/trial/output-cap.js";
import { tempDir } from "../helpers/task-fixture.js";

const MB = 1024 * 1024;
const chunk = Buffer.alloc(MB, 0x61);

/** Bytes the dir's files hold on disk (holes excluded). */
function used(...files: string[]): number {
  return files.reduce((n, f) => n + statSync(f).blocks * 512, 0);
}

test("a dir under its cap is left alone", async () => {
  const dir = tempDir();
  writeFileSync(join(dir, "small.txt"), "hello\n");
  const cap = capLogDir(dir, MB, undefined, 60_000);
  assert.equal(await cap.check(), false);
  cap.stop();
  assert.equal(readFileSync(join(dir, "small.txt"), "utf8"), "hello\n");
  assert.equal(cap.capped, false);
});

test("a writer that keeps writing through its open descriptor is held at the cap, with a marker where it was cut", async () => {
  const dir = tempDir();
  mkdirSync(join(dir, "sub"));
  writeFileSync(join(dir, "keep.txt"), "small file\n");
  const big = join(dir, "sub", "flood.bin");
  const fd = openSync(big, "w");
  const told: string[] = [];
  const cap = capLogDir(dir, 4 * MB, (d) => told.push(d), 60_000);
  for (let i = 0; i < 10; i++) writeSync(fd, chunk);
  assert.equal(await cap.check(), true);
  for (let i = 0; i < 10; i++) writeSync(fd, chunk); // still writing, at its own offset
  await cap.check();
  closeSync(fd);
  cap.stop();
  assert.deepEqual(told, [dir], "told once");
  assert.ok(used(big, join(dir, "keep.txt")) <= 4 * MB + 64 * 1024, `on disk: ${used(big)}`);
  const tail = readFileSync(big).subarray(-200).toString("utf8");
  assert.ok(/\[tmax: output truncated here — .* passed its cap of 4194304 bytes\]\n$/.test(tail), `the file ends in the marker: ${JSON.stringify(tail.slice(-120))}`);
  assert.equal(readFileSync(join(dir, "keep.txt"), "utf8"), "small file\n", "the small file is untouched");
});

test("once capped, new files are cut to the marker; reset() lifts the freeze (the dir was emptied)", async () => {
  const dir = tempDir();
  writeFileSync(join(dir, "a.bin"), Buffer.alloc(3 * MB));
  const cap = capLogDir(dir, 2 * MB, undefined, 60_000);
  assert.equal(await cap.check(), true);
  writeFileSync(join(dir, "late.txt"), "written after the cap\n");
  await cap.check();
  assert.match(readFileSync(join(dir, "late.txt"), "utf8"), /^\n\[tmax: output truncated here/);
  cap.reset();
  writeFileSync(join(dir, "reward.txt"), "1\n");
  await cap.check();
  cap.stop();
  assert.equal(readFileSync(join(dir, "reward.txt"), "utf8"), "1\n");
});

test("the timer looks by itself", async () => {
  const dir = tempDir();
  const cap = capLogDir(dir, MB, undefined, 20);
  writeFileSync(join(dir, "big.bin"), Buffer.alloc(3 * MB, 1));
  await new Promise((r) => setTimeout(r, 300));
  cap.stop();
  assert.equal(cap.capped, true);
  assert.ok(statSync(join(dir, "big.bin")).size < 2 * MB);
});

test("a writer process writing flat out while the cut happens still leaves the marker where the file was cut", async () => {
  // `yes` writes as fast as the disk takes it, so it extends the file between the cut's truncate and the marker's
  // write: the marker must go at the cut, not at whatever end the file has by then.
  const dir = tempDir();
  const file = join(dir, "flood.txt");
  const fd = openSync(file, "w");
  const writer = spawn("yes", [], { stdio: ["ignore", fd, "ignore"] });
  closeSync(fd);
  const exited = new Promise((resolve) => writer.once("exit", resolve));
  const cap = capLogDir(dir, 2 * MB, undefined, 60_000);
  try {
    while (statSync(file).size <= 4 * MB) await new Promise((r) => setTimeout(r, 5));
    assert.equal(await cap.check(), true);
  } finally {
    writer.kill("SIGKILL");
    await exited;
  }
  await cap.settle();
  assert.ok(used(file) <= 2 * MB + 64 * 1024, `on disk: ${used(file)}`);
  const tail = readFileSync(file).subarray(-200).toString("utf8");
  assert.ok(/y\n?\n\[tmax: output truncated here — .* passed its cap of 2097152 bytes\]\n$/.test(tail), `the file ends in the marker: ${JSON.stringify(tail.slice(-120))}`);
});

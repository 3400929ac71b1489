import assert from "node:assert/strict";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { describe, test } from "node:test";
import type { ImageStore } from "../../src/environment/environment.js";
import { BootstrapError, bootstrapDebian, debianTags, type BootstrapProgress } from "../../src/images/bootstrap.js";
import { tempDir } from "../helpers/task-fixture.js";

const isRoot = process.getuid?.() === 0;

/** An in-memory image store: name → image id. */
class FakeStore implements ImageStore {
  readonly names = new Map<string, string>();
  readonly imports: { name: string; changes: string[]; bytes: number }[] = [];
  /** When set, an import finishes only this long after the signal aborted (an engine still busy with it). */
  finishAfterAbort: { signal: AbortSignal; ms: number } | null = null;

  exists(name: string): Promise<boolean> {
    return Promise.resolve(this.names.has(name) || [...this.names.values()].includes(name));
  }
  async tag(image: string, target: string): Promise<void> {
    const id = this.names.get(image) ?? image;
    if (!(await this.exists(id))) throw new Error(`no image ${image}`);
    this.names.set(target, id);
  }
  async importRootfs(rootfs: Readable, name: string, changes: string[]): Promise<string> {
    let bytes = 0;
    for await (const chunk of rootfs) bytes += (chunk as Buffer).length;
    const wait = this.finishAfterAbort;
    if (wait) {
      await new Promise<void>((r) => (wait.signal.aborted ? r() : wait.signal.addEventListener("abort", () => r(), { once: true })));
      await new Promise((r) => setTimeout(r, wait.ms));
    }
    const id = `sha256:${String(this.imports.length).padStart(64, "0")}`;
    this.imports.push({ name, changes, bytes });
    this.names.set(name, id);
    return id;
  }
  untag(name: string): Promise<void> {
    this.names.delete(name);
    return Promise.resolve();
  }
}

/** A stand-in for debootstrap: `--variant=minbase SUITE ROOTFS MIRROR`; writes a tiny root fs, maybe hangs. */
function fakeDebootstrap(opts: { hang?: boolean; exit?: number } = {}): { path: string; pidFile: string } {
  const dir = tempDir("tmax-fake-debootstrap-");
  const path = join(dir, "debootstrap");
  const pidFile = join(dir, "grandchild.pid");
  writeFileSync(
    path,
    [
      "#!/bin/bash",
      'rootfs="$3"',
      'mkdir -p "$rootfs/etc" "$rootfs/var/cache/apt/archives"',
      'echo "$2 from $4" > "$rootfs/etc/debian_version"',
      'touch "$rootfs/var/cache/apt/archives/libc6.deb"',
      'echo "I: Retrieving InRelease"',
      'echo "I: Retrieving libc6 2.36-9"',
      ...(opts.hang ? [`sleep 300 & echo $! > '${pidFile}'`, "wait"] : []),
      ...(opts.exit ? [`echo "E: Failed getting release file" >&2`, `exit ${opts.exit}`] : []),
      'echo "I: Base system installed successfully."',
      "",
    ].join("\n"),
  );
  chmodSync(path, 0o755);
  return { path, pidFile };
}

/** True while `pid` runs (a zombie awaiting its reaper counts as gone). */
const alive = (pid: number): boolean => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
};

/** The work dir named by the "starting" progress event. */
const workDirOf = (events: BootstrapProgress[]): string => /in (\S+)$/.exec(events.find((e) => e.stage === "starting")!.detail!)![1]!;

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("bootstrapDebian with a fake image store and debootstrap", { skip: !isRoot && "needs root (debootstrap runs as root)" }, () => {
  test("builds, imports through a temporary name with ENV/CMD changes, tags every name, removes the work dir", async () => {
    const store = new FakeStore();
    const events: BootstrapProgress[] = [];
    const result = await bootstrapDebian({
      images: store,
      suite: "bookworm",
      mirror: "http://mirror.example/debian",
      force: false,
      debootstrap: fakeDebootstrap().path,
      onProgress: (p) => events.push(p),
    });
    assert.deepEqual(result, { built: true, tags: debianTags("bookworm") });
    assert.equal(store.imports.length, 1);
    assert.match(store.imports[0]!.name, /^tmax-bootstrap-partial:bookworm-[0-9a-f]{8}$/);
    assert.deepEqual(store.imports[0]!.changes, ["ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 'CMD ["bash"]']);
    assert.deepEqual([...store.names.keys()].sort(), [...debianTags("bookworm")].sort(), "the temporary name is gone");
    assert.ok(events.some((e) => e.stage === "downloading" && e.count === 2));
    assert.ok(!existsSync(workDirOf(events)));

    const again = await bootstrapDebian({ images: store, suite: "bookworm", mirror: "x", force: false, debootstrap: "/nonexistent" });
    assert.deepEqual(again, { built: false, tags: debianTags("bookworm") });
  });

  test("a failing debootstrap is a BootstrapError naming the mirror; nothing is imported", async () => {
    const store = new FakeStore();
    const events: BootstrapProgress[] = [];
    await assert.rejects(
      bootstrapDebian({ images: store, suite: "bookworm", mirror: "http://down.example/debian", force: true, debootstrap: fakeDebootstrap({ exit: 1 }).path, onProgress: (p) => events.push(p) }),
      (e: Error) => e instanceof BootstrapError && /exit 1.*down\.example.*\n[^]*Failed getting release file/.test(e.message),
    );
    assert.equal(store.imports.length, 0);
    assert.ok(!existsSync(workDirOf(events)));
  });

  test("abort during debootstrap: its process group is killed, the work dir removed, the reason rethrown", async () => {
    const store = new FakeStore();
    const fake = fakeDebootstrap({ hang: true });
    const events: BootstrapProgress[] = [];
    const ctl = new AbortController();
    const run = bootstrapDebian({ images: store, suite: "bookworm", mirror: "m", force: true, debootstrap: fake.path, signal: ctl.signal, onProgress: (p) => events.push(p) });
    await until(() => existsSync(fake.pidFile) && readFileSync(fake.pidFile, "utf8").trim() !== "");
    const grandchild = Number(readFileSync(fake.pidFile, "utf8"));
    assert.ok(alive(grandchild));
    const started = Date.now();
    ctl.abort(new Error("interrupted by SIGINT"));
    await assert.rejects(run, /interrupted by SIGINT/);
    assert.ok(Date.now() - started < 5000, `stopped after ${Date.now() - started} ms`);
    await until(() => !alive(grandchild), 2000).catch(() => assert.fail("debootstrap's children were killed with it"));
    assert.ok(!existsSync(workDirOf(events)), "work dir removed");
    assert.equal(store.imports.length, 0);
  });

  test("abort during the import: waits for the engine to finish, then removes the partial image; existing tags stay", async () => {
    const store = new FakeStore();
    store.names.set("debian:bookworm-slim", "sha256:old");
    const ctl = new AbortController();
    store.finishAfterAbort = { signal: ctl.signal, ms: 200 };
    const events: BootstrapProgress[] = [];
    const run = bootstrapDebian({
      images: store,
      suite: "bookworm",
      mirror: "m",
      force: true,
      debootstrap: fakeDebootstrap().path,
      signal: ctl.signal,
      onProgress: (p) => {
        events.push(p);
        if (p.stage === "importing") setTimeout(() => ctl.abort(new Error("interrupted by SIGTERM")), 50);
      },
    });
    await assert.rejects(run, /interrupted by SIGTERM/);
    assert.equal(store.imports.length, 1, "the engine finished the import");
    assert.deepEqual([...store.names.entries()], [["debian:bookworm-slim", "sha256:old"]], "partial removed, old image untouched");
    assert.ok(!existsSync(workDirOf(events)));
  });

  test("an already aborted signal does nothing", async () => {
    const store = new FakeStore();
    const ctl = new AbortController();
    ctl.abort(new Error("early"));
    await assert.rejects(bootstrapDebian({ images: store, suite: "bookworm", mirror: "m", force: true, signal: ctl.signal }), /early/);
    assert.equal(store.imports.length, 0);
  });
});

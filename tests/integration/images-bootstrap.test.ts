import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { finished, startCli } from "../helpers/cli.js";

const canBootstrap =
  process.getuid?.() === 0 && spawnSync("sh", ["-c", "command -v debootstrap && command -v podman"], { stdio: "ignore" }).status === 0;

const pgrep = (args: string[]): string[] => spawnSync("pgrep", args, { encoding: "utf8" }).stdout.split("\n").filter(Boolean);

/** True while `pid` runs (a zombie awaiting its reaper counts as gone). */
const alive = (pid: number): boolean => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
};

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// Bootstraps a suite other than the shared bookworm base (so the images other tests use are never touched) and
// interrupts it once debootstrap is downloading.
describe("tmax images bootstrap: Ctrl-C", { skip: !canBootstrap && "needs root, debootstrap and podman" }, () => {
  test("SIGINT while debootstrap runs: exit 130, debootstrap gone, work dir removed, podman service stopped, no image", async () => {
    const suite = "bullseye";
    const present = spawnSync("podman", ["image", "exists", `debian:${suite}-slim`]).status === 0;
    const child = startCli(["images", "bootstrap", "--suite", suite]);
    await until(() => /\bdownloading\b/.test(child.out.stderr) || child.exitCode !== null, 60_000, "debootstrap to start downloading");
    assert.equal(child.exitCode, null, child.out.stderr);
    assert.match(child.out.stderr, /^mirror \S+/m, "the chosen mirror is shown");
    const work = /starting \S+ from \S+ in (\S+)/.exec(child.out.stderr)?.[1];
    assert.ok(work && existsSync(work), child.out.stderr);
    assert.ok(pgrep(["-f", `debootstrap.*${work}`]).length > 0, "debootstrap is running");
    const services = pgrep(["-P", String(child.pid), "-f", "podman system service"]).map(Number);
    assert.equal(services.length, 1, "the command started its own podman service");

    child.kill("SIGINT");
    const result = await finished(child);
    assert.equal(result.code, 130, result.stderr);
    assert.match(result.stderr, /SIGINT: stopping debootstrap/);
    assert.deepEqual(pgrep(["-f", `debootstrap.*${work}`]), [], "no debootstrap left");
    assert.equal(existsSync(work), false, "work dir removed");
    assert.equal(readFileSync("/proc/self/mountinfo", "utf8").includes(work), false, "nothing left mounted");
    await until(() => !alive(services[0]!), 5000, "the podman service to exit");
    if (!present) assert.notEqual(spawnSync("podman", ["image", "exists", `debian:${suite}-slim`]).status, 0, "no image was tagged");
    const partial = spawnSync("podman", ["images", "-q", "--filter", "reference=*tmax-bootstrap-partial*"], { encoding: "utf8" }).stdout.trim();
    assert.equal(partial, "", "no partial import left");
  });
});

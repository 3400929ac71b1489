import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { readSessionRecords, type SessionRecord } from "../../src/environment/engine-sessions.js";
import { finished, podmanContainers, REPO, runCli, startCli } from "../helpers/cli.js";
import { tempDir, writeTask } from "../helpers/task-fixture.js";
import { pidAlive, waitFor } from "../helpers/wait.js";

/**
 * A terminal's Ctrl-C signals the whole foreground process group, not just tmax: the podman service tmax started
 * gets the signal too unless it runs in a session of its own. These tests start tmax as a process-group leader and
 * signal the group, as a terminal does.
 */

const until = waitFor;
const alive = pidAlive;

function recordOf(pid: number): SessionRecord | undefined {
  return readSessionRecords().find((r) => r.owner.pid === pid);
}

/**
 * podman's builder containers (storage-only; `podman ps -a` does not list them, `--external` does) working on
 * `image`, which a test gives a name of its own so that other tests' builds do not count.
 */
function builderContainers(image: string): string[] {
  const r = spawnSync("podman", ["ps", "-a", "--external", "--format", "json"], { encoding: "utf8" });
  const list = JSON.parse(r.stdout || "[]") as { Id: string; State: string; Command: string[] | null; Image: string }[];
  return list.filter((c) => c.State === "storage" && c.Command?.[0] === "buildah" && c.Image.includes(image)).map((c) => c.Id);
}

function jobIdOf(jobDir: string): string | null {
  const file = join(jobDir, "result.json");
  if (!existsSync(file)) return null;
  return (JSON.parse(readFileSync(file, "utf8")) as { id: string }).id;
}

function trialResults(jobDir: string): { exception_info: { exception_type: string } | null; agent_execution: unknown; environment_setup: unknown }[] {
  if (!existsSync(jobDir)) return [];
  return readdirSync(jobDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(jobDir, e.name, "result.json")))
    .map((e) => JSON.parse(readFileSync(join(jobDir, e.name, "result.json"), "utf8")));
}

async function ctrlCAt(name: string, opts: { dockerfile?: string; baseImage?: string; ready: (jobDir: string) => boolean }): Promise<void> {
  const ds = tempDir("tmax-ds-");
  writeTask(ds, `${name}-task`, { solveSh: "#!/bin/bash\nsleep 8\ntouch /app/done\n", dockerfile: opts.dockerfile });
  const jobs = tempDir("tmax-jobs-");
  const jobDir = join(jobs, name);
  const child = startCli(["run", "-p", ds, "-o", jobs, "--job-name", name], { group: true });
  const done = finished(child);
  await until(`${name}: the moment to interrupt`, () => opts.ready(jobDir));
  const record = recordOf(child.pid!);
  assert.ok(record?.service, "tmax recorded the podman service it started");
  const jobId = jobIdOf(jobDir)!;

  const sentAt = Date.now();
  process.kill(-child.pid!, "SIGINT"); // the whole group, as a terminal's Ctrl-C
  const r = await done;
  const stopSecs = (Date.now() - sentAt) / 1000;
  assert.equal(r.code, 130, r.stderr);
  assert.ok(stopSecs < 10, `stopped after ${stopSecs} s`);
  assert.doesNotMatch(r.stderr, /ENOENT|podman\.sock/, "tmax could still reach its podman service");
  assert.deepEqual(podmanContainers(`label=tmax.job=${jobId}`), [], "no trial container left");
  if (opts.baseImage) {
    // podman may still be unwinding the cancelled build (its RUN step) when tmax exits: what matters is that nothing
    // of it stays. Without tmax's cleanup the builder containers stay for good.
    const base = opts.baseImage;
    await until("the cancelled build's builder containers to go", () => builderContainers(base).length === 0, 30_000).catch(() => undefined);
    assert.deepEqual(builderContainers(base), [], "the cancelled build left no builder container");
  }
  assert.equal(alive(record.service.process.pid), false, "the podman service was stopped");
  assert.equal(existsSync(record.service.dir), false, "its socket dir was removed");
  assert.equal(recordOf(child.pid!), undefined, "a clean exit leaves no session record");

  const resumed = await runCli(["run", "--resume", jobDir, "--json"]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal(JSON.parse(resumed.stdout).n_trials, 1);
  assert.deepEqual(podmanContainers(`label=tmax.job=${jobId}`), []);
}

test("terminal Ctrl-C mid-trial: the service survives the group's SIGINT, no container is left, the job resumes", async () => {
  await ctrlCAt("ctrlc-mid-trial", { ready: (dir) => trialResults(dir).some((t) => t.agent_execution !== null) && jobIdOf(dir) !== null });
});

test("terminal Ctrl-C during container start: no container is left, the job resumes", async () => {
  await ctrlCAt("ctrlc-start", { ready: (dir) => trialResults(dir).some((t) => t.environment_setup !== null) && jobIdOf(dir) !== null });
});

test("terminal Ctrl-C during the image build: the build stops, no build container is left, the job resumes", async () => {
  // A base image name of this test's own (a tag of the Debian base), so its builder containers are told apart from
  // other tests' builds; a unique context, so the image is never cached; a RUN step long enough to be interrupted.
  const nonce = `${process.pid}-${Date.now()}`;
  const base = `localhost/tmax-ctrlc-base:${nonce}`;
  assert.equal(spawnSync("podman", ["tag", "debian:bookworm-slim", base]).status, 0);
  try {
    await ctrlCAt("ctrlc-build", {
      dockerfile: `FROM ${base}\nWORKDIR /app\nRUN echo ${nonce} > /nonce && sleep 20\n`,
      baseImage: base,
      // the build has reached its RUN step once podman's builder holds a container for it
      ready: (dir) => jobIdOf(dir) !== null && builderContainers(base).length > 0,
    });
  } finally {
    spawnSync("podman", ["untag", base, base]);
  }
});

test("SIGKILL of tmax: its container and podman service outlive it, and the next run removes both", async () => {
  const ds = tempDir("tmax-ds-");
  writeTask(ds, "killed-task", { solveSh: "#!/bin/bash\nsleep 8\ntouch /app/done\n" });
  const jobs = tempDir("tmax-jobs-");
  const jobDir = join(jobs, "killed");
  const child = startCli(["run", "-p", ds, "-o", jobs, "--job-name", "killed"], { group: true });
  const done = finished(child);
  await until("the trial to run", () => trialResults(jobDir).some((t) => t.agent_execution !== null) && jobIdOf(jobDir) !== null);
  const record = recordOf(child.pid!)!;
  assert.ok(record.service);
  const jobId = jobIdOf(jobDir)!;
  child.kill("SIGKILL");
  await done;
  assert.equal(podmanContainers(`label=tmax.job=${jobId}`).length, 1, "the killed run's container is still there");
  assert.equal(alive(record.service.process.pid), true, "and so is its podman service");

  const other = tempDir("tmax-ds-");
  writeTask(other, "next-task");
  const next = await runCli(["run", "-p", other, "-o", tempDir("tmax-jobs-"), "--json"]);
  assert.equal(next.code, 0, next.stderr);
  assert.match(next.stderr, new RegExp(`removed 1 container\\(s\\) and a podman service left by tmax process ${child.pid}`));
  assert.deepEqual(podmanContainers(`label=tmax.job=${jobId}`), []);
  await until("the orphaned service to exit", () => !alive(record.service!.process.pid), 10_000);
  assert.equal(existsSync(record.service.dir), false);
  assert.equal(recordOf(child.pid!), undefined, "the dead run's record is gone");

  // The interrupted job itself still resumes.
  const resumed = await runCli(["run", "--resume", jobDir, "--json"]);
  assert.equal(resumed.code, 0, resumed.stderr);
});

test("SIGTERM to npx alone (npm does not pass it on, and exits at once): tmax notices, stops and cleans up", async () => {
  const ds = tempDir("tmax-ds-");
  writeTask(ds, "npx-task", { solveSh: "#!/bin/bash\nsleep 30\ntouch /app/done\n" });
  const jobs = tempDir("tmax-jobs-");
  const jobDir = join(jobs, "via-npx");
  const npx = spawn("npx", ["tmax", "run", "-p", ds, "-o", jobs, "--job-name", "via-npx"], { cwd: REPO, stdio: "ignore", detached: true });
  await until("the trial to run", () => trialResults(jobDir).some((t) => t.agent_execution !== null) && jobIdOf(jobDir) !== null);
  const jobId = jobIdOf(jobDir)!;
  // The trial's container names its session; the session's record names the tmax process.
  const session = spawnSync("podman", ["ps", "--filter", `label=tmax.job=${jobId}`, "--format", '{{ index .Labels "tmax.session" }}'], { encoding: "utf8" }).stdout.trim();
  const tmaxPid = readSessionRecords().find((r) => r.session === session)?.owner.pid;
  assert.ok(tmaxPid, "tmax is running under npx");
  process.kill(npx.pid!, "SIGTERM");
  await until("tmax to exit", () => !alive(tmaxPid), 20_000);
  assert.deepEqual(podmanContainers(`label=tmax.job=${jobId}`), []);
  const cancelled = trialResults(jobDir).filter((t) => t.exception_info?.exception_type === "CancelledError");
  assert.equal(cancelled.length, 1, "the running trial was cancelled, so the job resumes");
});

test("tmax sandboxes prune removes tmax containers no running tmax owns, and nothing else", async () => {
  const create = (labels: string[]): string => {
    const args = ["create", ...labels.flatMap((l) => ["--label", l]), "debian:bookworm-slim", "true"];
    const r = spawnSync("podman", args, { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim();
  };
  const orphan = create([`tmax.session=gone-${process.pid}-${Date.now()}`, "tmax.trial=orphan"]);
  const foreign = create(["not-tmax=1"]);
  try {
    const r = await runCli(["sandboxes", "prune", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { containers_removed: number };
    assert.ok(report.containers_removed >= 1);
    const exists = (id: string): boolean => spawnSync("podman", ["container", "exists", id]).status === 0;
    assert.equal(exists(orphan), false, "the orphan is gone");
    assert.equal(exists(foreign), true, "a container tmax did not make is left alone");
  } finally {
    for (const id of [orphan, foreign]) spawnSync("podman", ["rm", "-f", id]);
  }
});

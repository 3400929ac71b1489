import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { readSessionRecords, type SessionRecord } from "../../src/environment/engine-sessions.js";
import { PodmanService } from "../../src/environment/podman-service.js";
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

/** The session records in a TMAX_SESSIONS_DIR of a test's own. */
function sessionRecordsIn(dir: string): SessionRecord[] {
  return readdirSync(dir)
    .filter((n) => n.endsWith(".json"))
    .map((n) => JSON.parse(readFileSync(join(dir, n), "utf8")) as SessionRecord);
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

test("SIGKILL of tmax: sandboxes list shows the orphan, the next run warns about it, sandboxes prune --job removes it", async () => {
  // Session records of this test's own: no other tmax on the machine judges (or sweeps) this run's leftovers.
  const env = { TMAX_SESSIONS_DIR: tempDir("tmax-sessions-") };
  const ds = tempDir("tmax-ds-");
  writeTask(ds, "killed-task", { solveSh: "#!/bin/bash\nsleep 8\ntouch /app/done\n" });
  const jobs = tempDir("tmax-jobs-");
  const jobDir = join(jobs, "killed");
  const child = startCli(["run", "-p", ds, "-o", jobs, "--job-name", "killed"], { group: true, env });
  const done = finished(child);
  let jobId: string | null = null;
  try {
    await until("the trial to run", () => trialResults(jobDir).some((t) => t.agent_execution !== null) && jobIdOf(jobDir) !== null);
    jobId = jobIdOf(jobDir)!;
    const service = sessionRecordsIn(env.TMAX_SESSIONS_DIR).find((r) => r.owner.pid === child.pid)?.service;
    assert.ok(service, "tmax recorded the podman service it started");
    child.kill("SIGKILL");
    await done;
    assert.equal(podmanContainers(`label=tmax.job=${jobId}`).length, 1, "the killed run's container is still there");

    const listed = await runCli(["sandboxes", "list", "--json"], { env });
    assert.equal(listed.code, 0, listed.stderr);
    const orphan = (JSON.parse(listed.stdout) as { job: string | null; owner: string; ownerPid: number | null; session: string }[]).filter(
      (s) => s.job === jobId,
    );
    assert.equal(orphan.length, 1, listed.stdout);
    assert.equal(orphan[0]!.owner, "dead");
    assert.equal(orphan[0]!.ownerPid, child.pid);
    const table = await runCli(["sandboxes", "list"], { env });
    assert.match(table.stdout, new RegExp(`${jobId}.*${child.pid}@\\S+ dead`));

    const other = tempDir("tmax-ds-");
    writeTask(other, "next-task");
    const next = await runCli(["run", "-p", other, "-o", tempDir("tmax-jobs-"), "--json"], { env });
    assert.equal(next.code, 0, next.stderr);
    assert.match(next.stderr, new RegExp(`1 container\\(s\\) of job ${jobId} left by tmax process ${child.pid}.*tmax sandboxes prune --job ${jobId}`));
    await until("the dead run's podman service to be gone", () => !alive(service.process.pid), 10_000);
    assert.equal(existsSync(service.dir), false, "and its socket dir");
    assert.equal(podmanContainers(`label=tmax.job=${jobId}`).length, 1, "a run only warns: the orphan is still there");
    // Two engines on this machine's one storage list the same orphan: the run tells of it once.
    const engines = await Promise.all([PodmanService.start(), PodmanService.start()]);
    try {
      const urls = engines.flatMap((e) => ["--engine", `unix://${e.socketPath}`]);
      const twice = await runCli(["run", "-p", other, "-o", tempDir("tmax-jobs-"), "--json", ...urls], { env });
      assert.equal(twice.code, 0, twice.stderr);
      assert.equal(twice.stderr.split("\n").filter((l) => l.includes(`of job ${jobId}`)).length, 1, twice.stderr);
    } finally {
      await Promise.all(engines.map((e) => e.stop()));
    }

    const pruned = await runCli(["sandboxes", "prune", "--job", jobId, "--json"], { env });
    assert.equal(pruned.code, 0, pruned.stderr);
    assert.equal((JSON.parse(pruned.stdout) as { containers_removed: number }).containers_removed, 1);
    assert.deepEqual(podmanContainers(`label=tmax.job=${jobId}`), []);
    const after = await runCli(["sandboxes", "list", "--json"], { env });
    assert.deepEqual((JSON.parse(after.stdout) as { job: string | null }[]).filter((s) => s.job === jobId), []);

    // The interrupted job itself still resumes.
    const resumed = await runCli(["run", "--resume", jobDir, "--json"], { env });
    assert.equal(resumed.code, 0, resumed.stderr);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    if (jobId) for (const id of podmanContainers(`label=tmax.job=${jobId}`)) spawnSync("podman", ["rm", "-f", id]);
  }
});

test("tmax sandboxes prune --job never removes the containers of a running tmax", async () => {
  const env = { TMAX_SESSIONS_DIR: tempDir("tmax-sessions-") };
  const ds = tempDir("tmax-ds-");
  writeTask(ds, "live-task", { solveSh: "#!/bin/bash\nsleep 8\ntouch /app/done\n" });
  const jobs = tempDir("tmax-jobs-");
  const jobDir = join(jobs, "live");
  const child = startCli(["run", "-p", ds, "-o", jobs, "--job-name", "live", "--json"], { env });
  const done = finished(child);
  try {
    await until("the trial to run", () => trialResults(jobDir).some((t) => t.agent_execution !== null) && jobIdOf(jobDir) !== null);
    const jobId = jobIdOf(jobDir)!;
    const pruned = await runCli(["sandboxes", "prune", "--job", jobId, "--json"], { env });
    assert.equal(pruned.code, 0, pruned.stderr);
    const report = JSON.parse(pruned.stdout) as { containers_removed: number; engines: { kept: { job: string; owner: string }[] }[] };
    assert.equal(report.containers_removed, 0);
    assert.deepEqual(report.engines.flatMap((e) => e.kept).map((k) => [k.job, k.owner]), [[jobId, "alive"]]);
    const r = await done;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).n_errored, 0, "the live run's trial was not disturbed");
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGINT");
    await done;
  }
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

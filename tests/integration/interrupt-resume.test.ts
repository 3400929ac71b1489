import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { finished, podmanContainers, runCli, startCli } from "../helpers/cli.js";
import { tempDir, writeTask } from "../helpers/task-fixture.js";
import { waitFor } from "../helpers/wait.js";

function finishedTrials(jobDir: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!existsSync(jobDir)) return out;
  for (const e of readdirSync(jobDir, { withFileTypes: true })) {
    const file = join(jobDir, e.name, "result.json");
    if (!e.isDirectory() || !existsSync(file)) continue;
    const text = readFileSync(file, "utf8");
    const r = JSON.parse(text);
    if (r.finished_at && r.exception_info?.exception_type !== "CancelledError") out.set(e.name, text);
  }
  return out;
}

/** Trial dirs whose result.json records a CancelledError. */
function cancelledTrials(jobDir: string): string[] {
  return readdirSync(jobDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && JSON.parse(readFileSync(join(jobDir, e.name, "result.json"), "utf8")).exception_info?.exception_type === "CancelledError")
    .map((e) => e.name);
}

test("Ctrl-C stops within seconds, leaves no container, and --resume completes the job keeping earlier results", async () => {
  const ds = tempDir("tmax-ds-");
  for (const n of ["fast-1", "fast-2"]) writeTask(ds, `intr-${n}`);
  for (const n of ["slow-1", "slow-2", "slow-3", "slow-4"]) {
    writeTask(ds, `intr-${n}`, { solveSh: "#!/bin/bash\nsleep 8\ntouch /app/done\n" });
  }
  const jobs = tempDir("tmax-jobs-");
  const jobDir = join(jobs, "interrupted");
  const child = startCli(["run", "-p", ds, "-o", jobs, "--job-name", "interrupted", "-n", "3"]);
  const done = finished(child);

  // Wait until the two fast trials are finished and slow ones are running.
  const deadline = Date.now() + 60_000;
  while (finishedTrials(jobDir).size < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.equal(finishedTrials(jobDir).size, 2, "the fast trials finished");
  await new Promise((r) => setTimeout(r, 500));
  const jobId = JSON.parse(readFileSync(join(jobDir, "result.json"), "utf8")).id;
  const mine = `label=tmax.job=${jobId}`;
  assert.ok(podmanContainers(mine).length > 0, "slow trials are running in containers");
  const before = finishedTrials(jobDir);

  const sentAt = Date.now();
  child.kill("SIGINT");
  const result = await done;
  const stopSecs = (Date.now() - sentAt) / 1000;
  assert.equal(result.code, 130, result.stderr);
  assert.ok(stopSecs < 10, `stopped after ${stopSecs}s`);
  assert.match(result.stdout, /Resume with: npx tmax run --resume/);
  assert.deepEqual(podmanContainers(mine), [], "no container left behind");

  const jobResult = JSON.parse(readFileSync(join(jobDir, "result.json"), "utf8"));
  assert.equal(jobResult.finished_at, null, "an interrupted job is not marked finished");
  assert.equal(jobResult.stats.n_completed_trials, 2);
  assert.ok(cancelledTrials(jobDir).length >= 1, "running trials were recorded as CancelledError");

  const resumed = await runCli(["run", "--resume", jobDir, "--json"]);
  assert.equal(resumed.code, 0, resumed.stderr);
  const summary = JSON.parse(resumed.stdout);
  assert.equal(summary.n_trials, 6);
  assert.equal(summary.mean, 1);
  const after = finishedTrials(jobDir);
  assert.equal(after.size, 6);
  for (const [name, text] of before) assert.equal(after.get(name), text, `${name} was kept byte for byte`);
  const dirs = readdirSync(jobDir, { withFileTypes: true }).filter((e) => e.isDirectory());
  assert.equal(dirs.length, 6, "cancelled trial dirs were replaced, not duplicated");
  const final = JSON.parse(readFileSync(join(jobDir, "result.json"), "utf8"));
  assert.ok(final.finished_at);
  assert.equal(final.id, jobResult.id, "the job keeps its id across resume");
  assert.deepEqual(podmanContainers(mine), []);
});

test("a closed output pipe mid-run (| head, or | tee ended by Ctrl-C) stops like Ctrl-C: no container left, the job resumable", async () => {
  const ds = tempDir("tmax-ds-");
  writeTask(ds, "pipe-fast");
  writeTask(ds, "pipe-slow-1", { solveSh: "#!/bin/bash\nsleep 4\ntouch /app/done\n" });
  for (const n of ["2", "3"]) writeTask(ds, `pipe-slow-${n}`, { solveSh: "#!/bin/bash\nsleep 60\ntouch /app/done\n" });
  const jobs = tempDir("tmax-jobs-");
  const jobDir = join(jobs, "piped");
  const child = startCli(["run", "-p", ds, "-o", jobs, "--job-name", "piped", "-n", "4"]);
  const done = finished(child);
  await waitFor("the fast trial", () => finishedTrials(jobDir).size >= 1, 60_000);
  assert.equal(finishedTrials(jobDir).size, 1, "the fast trial finished");
  const jobId = JSON.parse(readFileSync(join(jobDir, "result.json"), "utf8")).id;
  const mine = `label=tmax.job=${jobId}`;
  assert.ok(podmanContainers(mine).length > 0, "slow trials are running in containers");

  // The reader goes away: tmax's next line (pipe-slow-1 finishing) meets EPIPE.
  child.stdout!.destroy();
  child.stderr!.destroy();
  const result = await done;
  assert.equal(result.code, 130, "ended as an interrupt, not by the EPIPE (exit 1)");
  assert.deepEqual(podmanContainers(mine), [], "no container left behind");
  const jobResult = JSON.parse(readFileSync(join(jobDir, "result.json"), "utf8"));
  assert.equal(jobResult.finished_at, null, "the job is resumable, not marked finished");
  assert.ok(cancelledTrials(jobDir).length >= 1, "the long trials were recorded as CancelledError");
});

test("--resume of a finished job runs nothing and reports the same figures", async () => {
  const ds = tempDir("tmax-ds-");
  writeTask(ds, "resume-noop");
  const jobs = tempDir("tmax-jobs-");
  const first = await runCli(["run", "-p", ds, "-o", jobs, "--job-name", "j", "--json"]);
  assert.equal(first.code, 0, first.stderr);
  const again = await runCli(["run", "--resume", join(jobs, "j"), "--json"]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(JSON.parse(again.stdout).n_trials, 1);
  assert.equal(readdirSync(join(jobs, "j"), { withFileTypes: true }).filter((e) => e.isDirectory()).length, 1);
  const clash = await runCli(["run", "-p", ds, "-o", jobs, "--job-name", "j"]);
  assert.equal(clash.code, 2);
  assert.match(clash.stderr, /already holds a job; resume it with --resume/);
});

test("SIGTERM behaves like Ctrl-C: the running trial is cancelled and its container removed", async () => {
  const ds = tempDir("tmax-ds-");
  writeTask(ds, "term-slow", { solveSh: "#!/bin/bash\nsleep 60\n" });
  const jobs = tempDir("tmax-jobs-");
  const jobDir = join(jobs, "termed");
  const child = startCli(["run", "-p", ds, "-o", jobs, "--job-name", "termed"]);
  const done = finished(child);
  const deadline = Date.now() + 60_000;
  const running = (): boolean =>
    readdirSync(jobDir, { withFileTypes: true }).some((e) => {
      if (!e.isDirectory() || !existsSync(join(jobDir, e.name, "result.json"))) return false;
      return JSON.parse(readFileSync(join(jobDir, e.name, "result.json"), "utf8")).agent_execution !== null;
    });
  while (!(existsSync(jobDir) && running()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const jobId = JSON.parse(readFileSync(join(jobDir, "result.json"), "utf8")).id;
  assert.equal(podmanContainers(`label=tmax.job=${jobId}`).length, 1);
  const sentAt = Date.now();
  child.kill("SIGTERM");
  const r = await done;
  assert.equal(r.code, 130, r.stderr);
  assert.ok(Date.now() - sentAt < 10_000);
  assert.deepEqual(podmanContainers(`label=tmax.job=${jobId}`), []);
  const trial = readdirSync(jobDir, { withFileTypes: true }).find((e) => e.isDirectory())!;
  const res = JSON.parse(readFileSync(join(jobDir, trial.name, "result.json"), "utf8"));
  assert.equal(res.exception_info.exception_type, "CancelledError");
});

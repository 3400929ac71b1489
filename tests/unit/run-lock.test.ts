import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, test } from "node:test";
import type { Agent } from "../../src/agent/agent.js";
import { buildJobConfig } from "../../src/job/config.js";
import { runJob } from "../../src/job/job.js";
import { jobFile } from "../../src/job/layout.js";
import { acquireRunLock, JobLockedError } from "../../src/job/run-lock.js";
import { discoverTasks } from "../../src/task/dataset.js";
import { REPO, runCli } from "../helpers/cli.js";
import { fakeProvider } from "../helpers/fake-provider.js";
import { runOptions } from "../helpers/run-options.js";
import { tempDir, writeTask } from "../helpers/task-fixture.js";

const lockPath = (jobDir: string): string => jobFile(jobDir, "runLock");
const lockHolder = (jobDir: string): { pid: number; host: string; started_at: string } => JSON.parse(readFileSync(lockPath(jobDir), "utf8"));

/** The pid of a process that has exited (and been reaped). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", ""]);
  assert.equal(r.status, 0);
  return r.pid;
}

/**
 * Another tmax process: runs `body` (an async function body; `acquireRunLock` and `wait(path)`, which resolves once
 * `path` exists, are in scope) and reports what it prints, line by line.
 */
function lockProcess(body: string) {
  const module = pathToFileURL(join(REPO, "src/job/run-lock.ts")).href;
  const script = `
    const { acquireRunLock } = await import(${JSON.stringify(module)});
    const { existsSync } = await import("node:fs");
    const wait = async (path) => { while (!existsSync(path)) await new Promise((r) => setTimeout(r, 2)); };
    ${body}`;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: REPO, stdio: ["ignore", "pipe", "inherit"] });
  const lines: string[] = [];
  const waiters: (() => void)[] = [];
  let buffered = "";
  child.stdout.on("data", (d: Buffer) => {
    buffered += d.toString();
    const parts = buffered.split("\n");
    buffered = parts.pop()!;
    lines.push(...parts);
    for (const w of waiters.splice(0)) w();
  });
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  /** Resolves with the first line matching `re`. */
  const line = async (re: RegExp): Promise<string> => {
    for (;;) {
      const found = lines.find((l) => re.test(l));
      if (found !== undefined) return found;
      await Promise.race([new Promise<void>((r) => waiters.push(r)), exited.then(() => assert.fail(`exited without printing ${re}: ${lines.join(" | ")}`))]);
    }
  };
  return { child, line, exited };
}

describe("the job directory's run lock", () => {
  test("a second acquire fails naming the holder (pid, host, start time); release removes the file", async () => {
    const job = join(tempDir("tmax-lock-"), "not-yet-there");
    const lock = await acquireRunLock(job);
    assert.deepEqual(readdirSync(job), [".tmax-run.lock"], "the job directory is created, with only the lock in it");
    const held = lockHolder(job);
    assert.equal(held.pid, process.pid);
    assert.equal(held.host, hostname());
    await assert.rejects(acquireRunLock(job), (err: unknown) => {
      assert.ok(err instanceof JobLockedError);
      assert.equal(err.holder?.pid, process.pid);
      assert.ok(err.message.includes(`pid ${process.pid} on ${hostname()}, started ${held.started_at}`), err.message);
      assert.ok(err.message.includes(lockPath(job)), "names the file to remove if the run is gone");
      return true;
    });
    assert.equal(lockHolder(job).started_at, held.started_at, "the refused run left the lock alone");
    lock.release();
    assert.deepEqual(readdirSync(job), []);
    lock.release(); // a second release does nothing
    (await acquireRunLock(job)).release();
  });

  test("a dead run's lock (same host, process gone) is taken over; one held from another host or unreadable is not", async () => {
    const job = tempDir("tmax-lock-");
    const pid = deadPid();
    writeFileSync(lockPath(job), JSON.stringify({ pid, host: hostname(), started_at: "2026-01-01T00:00:00", token: "dead-run" }));
    const lock = await acquireRunLock(job);
    assert.equal(lockHolder(job).pid, process.pid);
    lock.release();

    writeFileSync(lockPath(job), JSON.stringify({ pid, host: "elsewhere.example", started_at: "2026-01-01T00:00:00", token: "remote-run" }));
    await assert.rejects(acquireRunLock(job), new RegExp(`pid ${pid} on elsewhere\\.example`));
    writeFileSync(lockPath(job), "{ half");
    await assert.rejects(acquireRunLock(job), (err: unknown) => err instanceof JobLockedError && err.message.includes(`${lockPath(job)} does not name the run holding it`));
    assert.equal(readFileSync(lockPath(job), "utf8"), "{ half", "left for a person to look at");
  });

  test("a killed run's lock is taken over by exactly one of several runs starting at once", async () => {
    const job = tempDir("tmax-lock-");
    const control = tempDir("tmax-lock-control-");
    const killed = lockProcess(`await acquireRunLock(${JSON.stringify(job)}); console.log("held"); await new Promise(() => setInterval(() => {}, 1000));`);
    await killed.line(/^held$/);
    killed.child.kill("SIGKILL");
    await killed.exited;
    assert.equal(lockHolder(job).pid, killed.child.pid, "SIGKILL left the lock behind");

    const takers = Array.from({ length: 4 }, () =>
      lockProcess(`
        console.log("ready");
        await wait(${JSON.stringify(join(control, "go"))});
        try {
          const lock = await acquireRunLock(${JSON.stringify(job)});
          console.log("won");
          await wait(${JSON.stringify(join(control, "done"))});
          lock.release();
        } catch (err) {
          console.log("lost: " + err.message);
        }`),
    );
    await Promise.all(takers.map((t) => t.line(/^ready$/)));
    writeFileSync(join(control, "go"), "");
    const outcomes = await Promise.all(takers.map((t) => t.line(/^(won|lost)/)));
    writeFileSync(join(control, "done"), "");
    await Promise.all(takers.map((t) => t.exited));
    assert.equal(outcomes.filter((o) => o === "won").length, 1, outcomes.join("\n"));
    const winner = takers[outcomes.indexOf("won")]!.child.pid!;
    for (const o of outcomes.filter((x) => x !== "won")) assert.match(o, new RegExp(`in use by another tmax run \\(pid ${winner} `));
    assert.deepEqual(readdirSync(job), [], "the winner released it; no marker or staging file is left");
  });

  test("a forced exit (process.exit, as a second Ctrl-C does) still removes the lock", async () => {
    const job = tempDir("tmax-lock-");
    const run = lockProcess(`await acquireRunLock(${JSON.stringify(job)}); console.log("held"); process.exit(130);`);
    await run.line(/^held$/);
    assert.equal(await run.exited, 130);
    assert.deepEqual(readdirSync(job), []);
  });
});

describe("runs hold the lock", () => {
  async function dataset(names: string[]) {
    const ds = tempDir("tmax-ds-");
    for (const n of names) writeTask(ds, n);
    return { ds, found: await discoverTasks(ds) };
  }

  test("a second run of a running job (resume) is refused and changes nothing; the lock goes when the run ends, also on error", async () => {
    const { ds, found } = await dataset(["l-one", "l-two", "l-three"]);
    const jobDir = join(tempDir("tmax-jobs-"), "j");
    const config = buildJobConfig(runOptions({ path: ds, nAttempts: 5, nConcurrent: 2 }));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const firstStarted = new Promise<void>((r) => (started = r));
    const agent = (wait: boolean): Agent => ({
      name: "gated-agent",
      version: "1",
      modelInfo: null,
      setup: () => Promise.resolve(),
      run: async () => {
        started();
        if (wait) await gate;
      },
    });
    const job = (resume: boolean, wait: boolean) =>
      runJob({ jobDir, config, tasks: found.tasks, source: found.source, provider: fakeProvider(), makeAgent: () => agent(wait), signal: new AbortController().signal, invocation: ["tmax", "test"], resume });

    const first = job(false, true);
    await firstStarted;
    assert.equal(lockHolder(jobDir).pid, process.pid, "held while the run writes the directory");
    const trialsBefore = readdirSync(jobDir).sort();
    await assert.rejects(job(true, false), (err: unknown) => err instanceof JobLockedError && err.message.includes(`(pid ${process.pid} on `));
    assert.deepEqual(readdirSync(jobDir).sort(), trialsBefore, "the refused run discarded and started nothing");
    release();
    const outcome = await first;
    assert.equal(outcome.records.length, 15);
    assert.equal(readdirSync(jobDir, { withFileTypes: true }).filter((e) => e.isDirectory()).length, 15, "3 tasks × 5 attempts, no more");
    assert.equal(existsSync(lockPath(jobDir)), false, "released when the run ended");

    const again = await job(true, false);
    assert.equal(again.records.length, 15, "a resume afterwards finds everything finished");
    assert.equal(existsSync(lockPath(jobDir)), false);

    writeFileSync(jobFile(jobDir, "result"), "{ not json");
    await assert.rejects(job(true, false), /result\.json: not valid JSON/);
    assert.equal(existsSync(lockPath(jobDir)), false, "released after the run failed");
  });

  test("`tmax run --resume` on a job another run holds exits 1 naming the holder, before any engine is contacted", async () => {
    const { ds } = await dataset(["cli-one"]);
    const jobDir = join(tempDir("tmax-jobs-"), "held");
    mkdirSync(jobDir);
    writeFileSync(jobFile(jobDir, "config"), JSON.stringify(buildJobConfig(runOptions({ path: ds, jobName: "held" }))));
    const lock = await acquireRunLock(jobDir);
    try {
      // No engine is reachable at this socket: a run that got past the lock would fail differently.
      const r = await runCli(["run", "--resume", jobDir, "-q"], { env: { TMAX_PODMAN_SOCKET: join(jobDir, "no-engine.sock") } });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`^tmax run: ${jobDir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} is in use by another tmax run \\(pid ${process.pid} on `, "m"));
      assert.deepEqual(readdirSync(jobDir).sort(), [".tmax-run.lock", "config.json"], "nothing written");
      assert.equal(lockHolder(jobDir).started_at, lock.holder.started_at, "the lock is still the holder's");
    } finally {
      lock.release();
    }
  });
});

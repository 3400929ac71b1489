/**
 * bench/viewer: how fast `tmax view` answers on a big directory. Writes synthetic Harbor 0.6.x jobs (bench/stats's
 * fixture: full result.json with the config embedded, config.json, trial.log, verifier files and an ATIF
 * agent/trajectory.json per trial), 5,000 trials by default (10 jobs × 100 tasks × 5 attempts), then, several times,
 * starts the compiled CLI on a fresh process and times over real HTTP:
 *
 *   listening     spawn → the URL on stdout
 *   jobs (cold)   spawn → GET /api/jobs answered (every job found, every trial's result.json read once)
 *   job (warm)    GET /api/job/<one job> right after (what clicking a job costs)
 *   jobs (warm)   GET /api/jobs again (result.json files only stat'ed: the mtime cache)
 *   job (cold)    on another fresh process: spawn → GET /api/job/<one job> (a shared job URL opened directly)
 *
 * Goals (issue 12): the jobs list under 1 s after the server starts, a job page under 0.5 s. Figures are printed,
 * not asserted; not run in CI.
 *
 *   npm run build && npm run bench:viewer -- [--jobs 10] [--tasks 100] [--attempts 5] [--reps 5]
 *                                            [--trajectory-bytes 20000] [--keep] [--json]
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { writeHarborJobs } from "../stats/fixture.js";

const { values } = parseArgs({
  options: {
    jobs: { type: "string", default: "10" },
    tasks: { type: "string", default: "100" },
    attempts: { type: "string", default: "5" },
    reps: { type: "string", default: "5" },
    "trajectory-bytes": { type: "string", default: "20000" },
    keep: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
  },
});

const CLI = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));
if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);

interface Started {
  child: ChildProcess;
  url: string;
  listeningSec: number;
}

/** Starts `tmax view root --port 0` and waits for its URL; times from spawn. */
function startViewer(root: string, t0: number): Promise<Started> {
  const child = spawn(process.execPath, [CLI, "view", root, "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /http:\/\/\S+/.exec(out);
      if (m) resolve({ child, url: m[0], listeningSec: (performance.now() - t0) / 1000 });
    });
    child.once("exit", (code) => reject(new Error(`tmax view exited (${code}): ${err}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
}

async function timedGet(url: string): Promise<{ sec: number; body: unknown }> {
  const t = performance.now();
  const res = await fetch(url);
  const body: unknown = await res.json();
  if (!res.ok) throw new Error(`${url}: ${res.status} ${JSON.stringify(body)}`);
  return { sec: (performance.now() - t) / 1000, body };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const work = mkdtempSync(join(tmpdir(), "tmax-bench-viewer-"));
const g0 = performance.now();
const jobs = writeHarborJobs(join(work, "jobs"), {
  jobs: Number(values.jobs),
  tasks: Number(values.tasks),
  attempts: Number(values.attempts),
  seed: 2026,
  trajectoryBytes: Number(values["trajectory-bytes"]),
});
const genSec = (performance.now() - g0) / 1000;
const nTrials = jobs.reduce((n, j) => n + j.trials, 0);
const jobPath = `0/jobs/${basename(jobs[0]!.dir)}`;

const names = ["listening", "jobs (cold)", "job (warm)", "jobs (warm)", "job (cold)"] as const;
const samples: Record<(typeof names)[number], number[]> = { listening: [], "jobs (cold)": [], "job (warm)": [], "jobs (warm)": [], "job (cold)": [] };
try {
  for (let rep = 0; rep < Number(values.reps); rep++) {
    const t0 = performance.now();
    const s = await startViewer(work, t0);
    const list = await timedGet(`${s.url}api/jobs`);
    const found = (list.body as { jobs: unknown[] }).jobs.length;
    if (found !== jobs.length) throw new Error(`the viewer found ${found} jobs, not ${jobs.length}`);
    samples.listening.push(s.listeningSec);
    samples["jobs (cold)"].push((performance.now() - t0) / 1000);
    samples["job (warm)"].push((await timedGet(`${s.url}api/job/${jobPath}`)).sec);
    samples["jobs (warm)"].push((await timedGet(`${s.url}api/jobs`)).sec);
    await stop(s.child);

    const t1 = performance.now();
    const s2 = await startViewer(work, t1);
    await timedGet(`${s2.url}api/job/${jobPath}`);
    samples["job (cold)"].push((performance.now() - t1) / 1000);
    await stop(s2.child);
  }
} finally {
  if (!values.keep) rmSync(work, { recursive: true, force: true });
}

const figures = Object.fromEntries(names.map((n) => [n, { median_s: median(samples[n]), min_s: Math.min(...samples[n]) }]));
if (values.json) {
  console.log(JSON.stringify({ trials: nTrials, jobs: jobs.length, generate_s: genSec, figures }, null, 2));
} else {
  const ms = (s: number): string => `${(s * 1000).toFixed(0)} ms`.padStart(9);
  console.log(`bench/viewer: ${nTrials} trials in ${jobs.length} jobs (written in ${genSec.toFixed(1)} s${values.keep ? `, kept in ${work}` : ""}), ${values.reps} fresh servers`);
  console.log(`  ${"".padEnd(34)} ${"median".padStart(9)} ${"min".padStart(9)}`);
  const label: Record<(typeof names)[number], string> = {
    listening: "spawn → listening",
    "jobs (cold)": "spawn → jobs list (goal < 1 s)",
    "job (warm)": "job page after the list (< 0.5 s)",
    "jobs (warm)": "jobs list again (mtime cache)",
    "job (cold)": "spawn → job page, fresh server",
  };
  for (const n of names) console.log(`  ${label[n].padEnd(34)} ${ms(figures[n]!.median_s)} ${ms(figures[n]!.min_s)}`);
}

/**
 * bench/stats: `tmax stats --json` against a plain Python script doing the same work, on 8 synthetic Harbor 0.6.x
 * job directories × 445 trials (89 tasks × 5 attempts, the size of the published Terminal-Bench 2.0 dumps). Each
 * trial has a ~3 KB result.json with its config embedded, a config.json, trial.log, verifier/reward.txt and a
 * ~100 KB agent/trajectory.json (a reader that opened trajectories would show). The Python script (stats.py,
 * standard library only) json-loads every trial's result.json and computes mean, SEM over runs and pass@5.
 *
 * Both are run alternately, several times, with a warm page cache; the figures printed are wall times (median and
 * min) and the ratio python / tmax (goal: tmax at least 2× faster), also without each interpreter's bare start-up.
 * Both must print the same mean, SEM and pass@5 for every job. Python is the real interpreter (sys.executable), not a pyenv shim.
 *
 *   npm run build && npm run bench:stats -- [--jobs 8] [--tasks 89] [--attempts 5] [--reps 15] [--keep] [--json]
 *                                           [--baseline other/dist/cli/main.js]   (another build, timed alongside)
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { childrenCpuSeconds } from "../lib/measure.js";
import { writeHarborJobs } from "./fixture.js";

const { values } = parseArgs({
  options: {
    jobs: { type: "string", default: "8" },
    tasks: { type: "string", default: "89" },
    attempts: { type: "string", default: "5" },
    reps: { type: "string", default: "15" },
    keep: { type: "boolean", default: false },
    baseline: { type: "string" },
    json: { type: "boolean", default: false },
  },
});
const JOBS = Number(values.jobs);
const TASKS = Number(values.tasks);
const ATTEMPTS = Number(values.attempts);
const REPS = Number(values.reps);

const CLI = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));
const SCRIPT = fileURLToPath(new URL("./stats.py", import.meta.url));
if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);

// The real interpreter: /usr/bin/python3 or python3 on PATH may be a pyenv shim (a bash script, ~70 ms).
const probe = spawnSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" });
if (probe.status !== 0) throw new Error(`python3 is needed: ${probe.stderr}`);
const PYTHON = probe.stdout.trim();

const work = mkdtempSync(join(tmpdir(), "tmax-bench-stats-"));
const g0 = performance.now();
const jobs = writeHarborJobs(work, { jobs: JOBS, tasks: TASKS, attempts: ATTEMPTS, seed: 2026, trajectoryBytes: 100_000 });
const genSec = (performance.now() - g0) / 1000;
const dirs = jobs.map((j) => j.dir);

interface Run {
  wallSec: number;
  cpuSec: number;
  stdout: string;
  stderr: string;
  code: number | null;
}

/** Wall time from spawn to exit, and CPU seconds of the reaped child. Output is collected, not printed. */
function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  const cpu0 = childrenCpuSeconds();
  const t0 = performance.now();
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on("data", (d: Buffer) => out.push(d));
  child.stderr.on("data", (d: Buffer) => err.push(d));
  return new Promise((resolve) =>
    child.once("close", (code) =>
      resolve({
        wallSec: (performance.now() - t0) / 1000,
        cpuSec: childrenCpuSeconds() - cpu0,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
        code,
      }),
    ),
  );
}

type Command = [string, string[], NodeJS.ProcessEnv?];
const COMMANDS = {
  tmax: [process.execPath, [CLI, "stats", "--json", ...dirs]] as Command,
  python: [PYTHON, [SCRIPT, ...dirs]] as Command,
  "node (empty)": [process.execPath, ["-e", "0"]] as Command,
  "python (empty)": [PYTHON, ["-c", "pass"]] as Command,
  ...(values.baseline ? { "tmax baseline": [process.execPath, [values.baseline, "stats", "--json", ...dirs]] as Command } : {}),
};
type Name = keyof typeof COMMANDS | "tmax baseline";
const runs = Object.fromEntries(Object.keys(COMMANDS).map((n) => [n, []])) as unknown as Record<Name, Run[]>;

// Warm-up: page cache, and a first check that both agree.
const warm = { tmax: await timed(...COMMANDS.tmax), python: await timed(...COMMANDS.python) };
for (const [name, r] of Object.entries(warm)) if (r.code !== 0) throw new Error(`${name} failed (exit ${r.code}): ${r.stderr}`);

interface Figures {
  job: string;
  n_trials: number;
  mean: number;
  sem: number;
  pass_at_5: number | null;
}
const fromTmax = (stdout: string): Figures[] =>
  (JSON.parse(stdout) as { job: string; n_trials: number; mean: number; sem: number; pass_at_k: Record<string, number> }[]).map((s) => ({
    job: s.job,
    n_trials: s.n_trials,
    mean: s.mean,
    sem: s.sem,
    pass_at_5: s.pass_at_k["5"] ?? null,
  }));
const fromPython = (stdout: string): Figures[] =>
  stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Figures);

const a = fromTmax(warm.tmax.stdout);
const b = fromPython(warm.python.stdout);
const close = (x: number | null, y: number | null): boolean => (x === null || y === null ? x === y : Math.abs(x - y) <= 1e-12);
if (a.length !== JOBS || b.length !== JOBS) throw new Error(`expected ${JOBS} jobs, tmax printed ${a.length}, python ${b.length}`);
for (let i = 0; i < JOBS; i++) {
  const [x, y] = [a[i]!, b[i]!];
  const same = x.job === y.job && x.n_trials === y.n_trials && close(x.mean, y.mean) && close(x.sem, y.sem) && close(x.pass_at_5, y.pass_at_5);
  if (!same) throw new Error(`tmax and python disagree on ${x.job}: ${JSON.stringify(x)} vs ${JSON.stringify(y)}`);
}

// Alternate the order each repetition so neither always runs right after the other.
const names = Object.keys(COMMANDS) as Name[];
const commandOf = (n: Name): Command => (COMMANDS as Record<Name, Command>)[n];
for (let i = 0; i < REPS; i++) {
  const order = i % 2 === 0 ? names : [...names].reverse();
  for (const n of order) runs[n].push(await timed(...commandOf(n)));
}
for (const n of ["tmax", "python", ...(values.baseline ? (["tmax baseline"] as const) : [])] as const) {
  for (const r of runs[n]) if (r.code !== 0 || r.stdout !== warm[n === "python" ? "python" : "tmax"].stdout) throw new Error(`${n}: a repetition failed or printed something else`);
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((p, q) => p - q);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const stat = (n: Name): { median_s: number; min_s: number; cpu_median_s: number } => ({
  median_s: median(runs[n].map((r) => r.wallSec)),
  min_s: Math.min(...runs[n].map((r) => r.wallSec)),
  cpu_median_s: median(runs[n].map((r) => r.cpuSec)),
});
const figures = Object.fromEntries(names.map((n) => [n, stat(n)])) as Record<Name, ReturnType<typeof stat>>;
const ratio = figures.python.median_s / figures.tmax.median_s;
const ratioMin = figures.python.min_s / figures.tmax.min_s;
// The same ratio without each interpreter's bare start-up (an empty program's wall time): the work itself.
const beyondStartup = (figures.python.median_s - figures["python (empty)"].median_s) / (figures.tmax.median_s - figures["node (empty)"].median_s);
const trials = jobs.reduce((s, j) => s + j.trials, 0);

const report = {
  jobs: JOBS,
  trials,
  python_executable: PYTHON,
  node: process.version,
  generate_s: genSec,
  reps: REPS,
  ...figures,
  speedup_median: ratio,
  speedup_min: ratioMin,
  speedup_beyond_startup: beyondStartup,
  goal_met: ratio >= 2,
  figures_agree: true,
};
if (values.json) console.log(JSON.stringify(report, null, 2));
else {
  const ms = (s: number): string => `${(s * 1000).toFixed(0).padStart(5)} ms`;
  console.log(`bench/stats: ${JOBS} Harbor jobs × ${trials / JOBS} trials (${trials} result.json, ~100 KB trajectory each), ${REPS} repetitions, warm cache`);
  console.log(`  fixture written in ${genSec.toFixed(1)} s under ${work}`);
  console.log(`  ${"".padEnd(16)} ${"median".padStart(8)} ${"min".padStart(8)} ${"cpu (median)".padStart(14)}`);
  for (const n of names) {
    const f = figures[n];
    console.log(`  ${n.padEnd(16)} ${ms(f.median_s)} ${ms(f.min_s)} ${ms(f.cpu_median_s).padStart(14)}`);
  }
  console.log(`  same mean / SEM / pass@5 for all ${JOBS} jobs: yes`);
  console.log(`  python / tmax: ${ratio.toFixed(2)}× (median), ${ratioMin.toFixed(2)}× (min)  (goal ≥ 2×: ${ratio >= 2 ? "met" : "NOT met"})`);
  console.log(`  beyond each interpreter's bare start-up (median − empty program): ${beyondStartup.toFixed(2)}×`);
}
if (!values.keep) rmSync(work, { recursive: true, force: true });

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
 * Alongside, the physical floor for node: an inline program that only lists the jobs and reads every result.json
 * (and the same with JSON.parse); python / that floor is the best ratio any node program can reach on this machine.
 * Every command runs without NODE_EXTRA_CA_CERTS (see EXTRA_CA below).
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
function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
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

/**
 * The physical floor for node here: a program that lists every job directory and opens, reads and closes each
 * trial's result.json into one reused buffer, as tmax does, with nothing else — no parsing ("read"), or also
 * JSON.parse ("read + parse"). No node program that computes the figures from the files can be faster than "read".
 */
const FLOOR_SOURCE = `
const fs = require("node:fs");
const parse = process.argv[1] === "parse";
let buffer = Buffer.allocUnsafe(1 << 20);
let bytes = 0;
for (const job of process.argv.slice(2)) {
  for (const e of fs.readdirSync(job, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    let fd;
    try { fd = fs.openSync(job + "/" + e.name + "/result.json", "r"); } catch { continue; }
    let len = 0, n;
    while ((n = fs.readSync(fd, buffer, len, buffer.length - len, null)) > 0) len += n;
    fs.closeSync(fd);
    bytes += parse ? Object.keys(JSON.parse(buffer.toString("utf8", 0, len))).length : len;
  }
}
process.stdout.write(String(bytes));
`;

/**
 * Node 20 loads NODE_EXTRA_CA_CERTS at start-up, before any JavaScript runs (OpenSSL 3 parses every certificate;
 * nodejs/node#40524). Sandboxes often point it at the whole system bundle, which costs every node process tens of ms
 * that have nothing to do with the work and that Python does not pay. The timed commands run without it; when it is
 * set, an empty node program is also timed with it, to show what it costs here.
 */
const EXTRA_CA = process.env.NODE_EXTRA_CA_CERTS;
const CLEAN_ENV: NodeJS.ProcessEnv = { ...process.env };
delete CLEAN_ENV.NODE_EXTRA_CA_CERTS;

type Command = [string, string[], NodeJS.ProcessEnv];
const COMMANDS = {
  tmax: [process.execPath, [CLI, "stats", "--json", ...dirs], CLEAN_ENV] as Command,
  python: [PYTHON, [SCRIPT, ...dirs], CLEAN_ENV] as Command,
  "node (empty)": [process.execPath, ["-e", "0"], CLEAN_ENV] as Command,
  "python (empty)": [PYTHON, ["-c", "pass"], CLEAN_ENV] as Command,
  "node floor: read": [process.execPath, ["-e", FLOOR_SOURCE, "read", ...dirs], CLEAN_ENV] as Command,
  "  … + JSON.parse": [process.execPath, ["-e", FLOOR_SOURCE, "parse", ...dirs], CLEAN_ENV] as Command,
  ...(EXTRA_CA ? { "node (empty, CA)": [process.execPath, ["-e", "0"], process.env] as Command } : {}),
  ...(values.baseline ? { "tmax baseline": [process.execPath, [values.baseline, "stats", "--json", ...dirs], CLEAN_ENV] as Command } : {}),
};
type Name = keyof typeof COMMANDS | "tmax baseline" | "node (empty, CA)";
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
// The best ratios any node program could reach here: python / a program that only reads the files, and python / one
// that reads and JSON-parses them (what computing the figures from the documents needs at the least).
const floorRatio = figures.python.median_s / figures["node floor: read"].median_s;
const parseFloorRatio = figures.python.median_s / figures["  … + JSON.parse"].median_s;
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
  speedup_floor_read: floorRatio,
  speedup_floor_parse: parseFloorRatio,
  node_extra_ca_certs: EXTRA_CA ?? null,
  goal_met: ratio >= 2,
  goal_reachable_by_node: parseFloorRatio >= 2,
  figures_agree: true,
};
if (values.json) console.log(JSON.stringify(report, null, 2));
else {
  const ms = (s: number): string => `${(s * 1000).toFixed(0).padStart(5)} ms`;
  console.log(`bench/stats: ${JOBS} Harbor jobs × ${trials / JOBS} trials (${trials} result.json, ~100 KB trajectory each), ${REPS} repetitions, warm cache`);
  console.log(`  fixture written in ${genSec.toFixed(1)} s under ${work}`);
  console.log(`  ${"".padEnd(18)} ${"median".padStart(8)} ${"min".padStart(8)} ${"cpu (median)".padStart(14)}`);
  for (const n of names) {
    const f = figures[n];
    console.log(`  ${n.padEnd(18)} ${ms(f.median_s)} ${ms(f.min_s)} ${ms(f.cpu_median_s).padStart(14)}`);
  }
  console.log(`  same mean / SEM / pass@5 for all ${JOBS} jobs: yes`);
  console.log(`  python / tmax: ${ratio.toFixed(2)}× (median), ${ratioMin.toFixed(2)}× (min)  (goal ≥ 2×: ${ratio >= 2 ? "met" : "NOT met"})`);
  console.log(`  beyond each interpreter's bare start-up (median − empty program): ${beyondStartup.toFixed(2)}×`);
  console.log(
    `  python / node floor: ${floorRatio.toFixed(2)}× (read only), ${parseFloorRatio.toFixed(2)}× (read + JSON.parse) — the most a node program` +
      ` that parses every result.json can reach here${parseFloorRatio >= 2 ? "" : ": the 2× goal is out of reach on this machine"}`,
  );
  console.log(`  tmax / node floor (read + JSON.parse): ${(figures.tmax.median_s / figures["  … + JSON.parse"].median_s).toFixed(2)}× (tmax's own cost)`);
  if (EXTRA_CA) {
    const tax = figures["node (empty, CA)"].median_s - figures["node (empty)"].median_s;
    console.log(`  NODE_EXTRA_CA_CERTS=${EXTRA_CA} is set: it adds ${(tax * 1000).toFixed(0)} ms to every node start-up here; the timed commands ran without it`);
  }
}
if (!values.keep) rmSync(work, { recursive: true, force: true });

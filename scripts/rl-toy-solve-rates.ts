/**
 * Per-task solve rates of a model on a task dir, the way RL samples them: starts `tmax serve` on the model dir
 * (--batch-decode), runs `tmax rollout -n G` on every task (temperature 1.0, seeds 42 + j), prints one line per task
 * and the mean, and stops the server. Used to check the premise of the toy run: after the SFT warm start the model
 * solves the training tasks sometimes (groups with reward variance).
 *
 *   npx tsx scripts/rl-toy-solve-rates.ts --model-dir OUT/step_N [--tasks examples/rl-toy/train] [-n 8] [--parallel 2]
 *     [--max-turn-tokens 256] [--temperature 1] [--out DIR] [--json]
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CLI = join(REPO, "dist", "cli", "main.js");

const { values } = parseArgs({
  options: {
    "model-dir": { type: "string" },
    tasks: { type: "string", default: join(REPO, "examples", "rl-toy", "train") },
    samples: { type: "string", short: "n", default: "8" },
    parallel: { type: "string", default: "2" },
    "max-turn-tokens": { type: "string", default: "256" },
    temperature: { type: "string", default: "1" },
    out: { type: "string" },
    json: { type: "boolean", default: false },
  },
});
if (!values["model-dir"]) throw new Error("--model-dir is required");
const modelDir = resolve(values["model-dir"]);
const out = resolve(values.out ?? mkdtempSync(join(tmpdir(), "tmax-toy-rates-")));
const samples = Number(values.samples);

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => done({ code, stdout, stderr }));
  });
}

const started = performance.now();
const server = spawn(process.execPath, [CLI, "serve", "--model-dir", modelDir, "--port", "0", "--batch-decode"], { stdio: ["ignore", "pipe", "inherit"] });
const url = await new Promise<string>((ok, fail) => {
  createInterface({ input: server.stdout }).on("line", (line) => {
    if (/^http:\/\//.test(line.trim())) ok(line.trim());
  });
  server.on("exit", (code) => fail(new Error(`tmax serve exited with ${code}`)));
});

interface Rate {
  task: string;
  solved: number;
  samples: number;
  endings: Record<string, number>;
}
const rates: Rate[] = [];
try {
  const tasks = readdirSync(values.tasks, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  const queue = [...tasks];
  const worker = async (): Promise<void> => {
    for (let task = queue.shift(); task; task = queue.shift()) {
      const args = ["rollout", "-p", join(values.tasks, task), "--model-dir", modelDir, "--base-url", url, "-n", String(samples), "-c", String(samples), "--max-turn-tokens", values["max-turn-tokens"], "--temperature", values.temperature];
      const r = await run([...args, "-o", join(out, task), "--group", task, "--json"]);
      if (r.code !== 0) throw new Error(`${task}: tmax rollout exited with ${r.code}\n${r.stderr}`);
      const summary = JSON.parse(r.stdout) as { rollouts: { ending: string; reward: number | null }[] };
      const endings: Record<string, number> = {};
      for (const x of summary.rollouts) endings[x.ending] = (endings[x.ending] ?? 0) + 1;
      const rate = { task, solved: summary.rollouts.filter((x) => x.reward === 1).length, samples: summary.rollouts.length, endings };
      rates.push(rate);
      if (!values.json) console.log(`${task.padEnd(32)} ${rate.solved}/${rate.samples}  ${JSON.stringify(endings)}`);
    }
  };
  await Promise.all(Array.from({ length: Number(values.parallel) }, worker));
} finally {
  server.kill("SIGINT");
  await new Promise((done) => server.once("exit", done));
}
rates.sort((a, b) => a.task.localeCompare(b.task));
const mean = rates.reduce((s, r) => s + r.solved / r.samples, 0) / Math.max(1, rates.length);
const varied = rates.filter((r) => r.solved > 0 && r.solved < r.samples).length;
const seconds = (performance.now() - started) / 1000;
if (values.json) console.log(JSON.stringify({ model_dir: modelDir, out, mean, tasks_with_variance: varied, seconds, rates }, null, 2));
else console.log(`mean solve rate ${mean.toFixed(3)} · ${varied}/${rates.length} tasks with reward variance · ${seconds.toFixed(0)} s · rollouts in ${out}`);

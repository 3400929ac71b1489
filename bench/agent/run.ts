/**
 * bench/agent: the tmax agent's harness overhead per step — wall time not spent in the model call or in the
 * container exec — with an instant scripted model (a real local HTTP server), at -n 1 and 32 concurrent agents.
 * Side by side: podman exec latency alone (the CLI, and tmax's API exec of `true`), the floor of any step.
 *
 *   node --import tsx bench/agent/run.ts [--steps 30] [--n 1,32] [--json]
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { TmaxAgent } from "../../src/agent/tmax/tmax-agent.js";
import type { EpisodeEvent } from "../../src/agent/tmax/episode.js";
import { openProvider } from "../../src/environment/providers.js";
import { defaultContainersConf } from "../../src/environment/podman-service.js";
import { buildJobConfig, buildTrialConfig, runOptionsWithDefaults } from "../../src/job/config.js";
import { loadTask } from "../../src/task/task.js";
import { environmentSpecFor, imageSourceFor } from "../../src/trial/environment-spec.js";
import { runTrial } from "../../src/trial/trial.js";
import { startScriptedModel } from "../../tests/helpers/scripted-model.js";
import { writeTask } from "../../tests/helpers/task-fixture.js";

const { values } = parseArgs({
  options: { steps: { type: "string", default: "30" }, n: { type: "string", default: "1,32" }, json: { type: "boolean", default: false } },
});
const STEPS = Number(values.steps);
const NS = values.n.split(",").map(Number);

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

const work = mkdtempSync(join(tmpdir(), "tmax-bench-agent-"));
const task = await loadTask(writeTask(work, "bench-agent"));
// Step i runs `echo i`; after STEPS commands the model submits. Stateless: the step is read from the history.
const server = await startScriptedModel((req) => {
  const done = req.body.messages.filter((m) => m.role === "assistant").length;
  return done < STEPS ? { kind: "call", command: `echo step ${done}` } : { kind: "call", command: "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT" };
});
const provider = await openProvider("podman");
await provider.prepareImage(imageSourceFor(task));

interface Row {
  n: number;
  steps: number;
  overheadMs: { p50: number; p90: number; max: number };
  execMs: { p50: number; p90: number };
  modelMs: { p50: number };
  wallSec: number;
}
const rows: Row[] = [];

for (const n of NS) {
  const overhead: number[] = [];
  const exec: number[] = [];
  const model: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const marks: { t: number; e: EpisodeEvent }[] = [];
      const agent = new TmaxAgent(
        { modelName: "bench", kwargs: { base_url: server.url }, env: {} },
        { onEvent: (e) => marks.push({ t: performance.now(), e }) },
      );
      const jobDir = join(work, `n${n}`);
      const job = buildJobConfig(runOptionsWithDefaults({ path: task.dir, agent: "tmax", model: "bench", singleTask: true, jobsDir: jobDir }));
      const config = buildTrialConfig(job, task, `bench__${n}_${i}`, "bench", null);
      const r = await runTrial({ task, config, source: null, dir: join(jobDir, config.trial_name) }, { provider, agent });
      if (r.exception_info) throw new Error(`${r.exception_info.exception_type}: ${r.exception_info.exception_message}`);
      const models = marks.filter((m) => m.e.type === "model");
      const obs = marks.filter((m) => m.e.type === "observation");
      for (let k = 0; k + 1 < models.length; k++) {
        const a = models[k]!;
        const b = models[k + 1]!;
        const o = obs[k]!.e as Extract<EpisodeEvent, { type: "observation" }>;
        const nextLlm = (b.e as Extract<EpisodeEvent, { type: "model" }>).llmSec;
        overhead.push(b.t - a.t - o.bashSec * 1000 - nextLlm * 1000);
        exec.push(o.bashSec * 1000);
        model.push(nextLlm * 1000);
      }
    }),
  );
  rows.push({
    n,
    steps: overhead.length,
    overheadMs: { p50: pct(overhead, 50), p90: pct(overhead, 90), max: Math.max(...overhead) },
    execMs: { p50: pct(exec, 50), p90: pct(exec, 90) },
    modelMs: { p50: pct(model, 50) },
    wallSec: (performance.now() - started) / 1000,
  });
}

// The floor: exec latency alone, through the podman CLI and through tmax's API exec.
const conf = join(work, "containers.conf");
writeFileSync(conf, defaultContainersConf());
const penv = { ...process.env, CONTAINERS_CONF: process.env.CONTAINERS_CONF ?? conf };
const image = await provider.prepareImage(imageSourceFor(task));
const id = spawnSync("podman", ["run", "-d", image, "sleep", "infinity"], { env: penv, encoding: "utf8" }).stdout.trim();
const cli: number[] = [];
for (let i = 0; i < 30; i++) {
  const t = performance.now();
  spawnSync("podman", ["exec", id, "true"], { env: penv });
  cli.push(performance.now() - t);
}
spawnSync("podman", ["rm", "-f", "-t", "0", id], { env: penv });
const env = provider.createEnvironment(
  environmentSpecFor(task, { trialName: "bench-floor", logs: { agent: join(work, "fa"), verifier: join(work, "fv"), artifacts: join(work, "fr") } }),
);
await env.start();
const api: number[] = [];
for (let i = 0; i < 30; i++) {
  const t = performance.now();
  await env.exec("true");
  api.push(performance.now() - t);
}
await env.stop();
await provider.close();
await server.close();
rmSync(work, { recursive: true, force: true });

const floor = { podmanCliExecMs: pct(cli, 50), apiExecMs: pct(api, 50) };
if (values.json) {
  console.log(JSON.stringify({ steps: STEPS, rows, floor }, null, 2));
} else {
  const f = (x: number): string => x.toFixed(2);
  console.log(`bench/agent: ${STEPS} commands + submit per agent, instant scripted model (local HTTP), podman`);
  console.log("overhead = step wall time − model call − container exec (harness logic and scheduling)\n");
  console.log("  -n | steps | overhead p50 ms | p90 ms | max ms | exec p50 ms | exec p90 ms | model call p50 ms | wall s");
  for (const r of rows) {
    console.log(
      `  ${String(r.n).padStart(2)} | ${String(r.steps).padStart(5)} | ${f(r.overheadMs.p50).padStart(15)} | ${f(r.overheadMs.p90).padStart(6)} | ${f(r.overheadMs.max).padStart(6)} | ` +
        `${f(r.execMs.p50).padStart(11)} | ${f(r.execMs.p90).padStart(11)} | ${f(r.modelMs.p50).padStart(17)} | ${r.wallSec.toFixed(1)}`,
    );
  }
  console.log(`\nfloor: podman CLI exec p50 ${f(floor.podmanCliExecMs)} ms; tmax API exec of \`true\` p50 ${f(floor.apiExecMs)} ms`);
  const worst = Math.max(...rows.map((r) => r.overheadMs.p50));
  console.log(`median overhead goal < 5 ms: ${worst < 5 ? "met" : "NOT met"} (worst p50 ${f(worst)} ms)`);
}

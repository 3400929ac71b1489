import { PodmanService } from "../../src/environment/podman-service.js";
import { measure } from "../lib/measure.js";

/**
 * bench/runner --engines: the same job through one podman API service and through two (`--engine` twice), both
 * started here on sockets of their own, at each -n. Two services on one machine share its CPUs and podman storage:
 * what this shows is whether a second service relieves the first (the API server's own serialisation), not more
 * hardware.
 */

export interface EngineRow {
  n: number;
  oneEngine: { trialsPerMin: number; wallSec: number };
  twoEngines: { trialsPerMin: number; wallSec: number };
  speedup: number;
}

export interface EngineBenchInput {
  cli: string;
  tasksDir: string;
  jobsDir: string;
  attempts: number;
  trials: number;
  ns: number[];
  env: NodeJS.ProcessEnv;
}

async function timedRun(input: EngineBenchInput, n: number, engines: PodmanService[], name: string): Promise<{ trialsPerMin: number; wallSec: number }> {
  const engineArgs = engines.flatMap((s) => ["--engine", `unix://${s.socketPath}`]);
  const args = [input.cli, "run", "-p", input.tasksDir, "-k", String(input.attempts), "-n", String(n), "-o", input.jobsDir, "--job-name", name, "-q", "--json", ...engineArgs];
  const t = await measure(process.execPath, args, input.env);
  if (t.code !== 0) throw new Error(`tmax run failed (${name}): ${t.stderr}`);
  const summary = JSON.parse(t.stdout) as { n_trials: number; mean: number };
  if (summary.n_trials !== input.trials || summary.mean !== 1) throw new Error(`tmax run (${name}): unexpected result ${t.stdout}`);
  return { trialsPerMin: input.trials / (t.wallSec / 60), wallSec: t.wallSec };
}

export async function compareEngines(input: EngineBenchInput): Promise<EngineRow[]> {
  const services = await Promise.all([PodmanService.start(), PodmanService.start()]);
  try {
    // Warm-up: the image is built (once per engine) and both services have served a container.
    await timedRun({ ...input, attempts: 1, trials: input.trials / input.attempts }, 2, services, "engines-warmup");
    const rows: EngineRow[] = [];
    for (const n of input.ns) {
      const one = await timedRun(input, n, services.slice(0, 1), `one-engine-n${n}`);
      const two = await timedRun(input, n, services, `two-engines-n${n}`);
      rows.push({ n, oneEngine: one, twoEngines: two, speedup: two.trialsPerMin / one.trialsPerMin });
    }
    return rows;
  } finally {
    await Promise.all(services.map((s) => s.stop()));
  }
}

export function printEngineRows(rows: readonly EngineRow[], header: string): void {
  const f1 = (x: number): string => x.toFixed(1);
  console.log(header);
  console.log("");
  console.log("  -n | one engine trials/min | two engines trials/min | speedup");
  for (const r of rows) {
    console.log(`  ${String(r.n).padStart(2)} | ${f1(r.oneEngine.trialsPerMin).padStart(21)} | ${f1(r.twoEngines.trialsPerMin).padStart(22)} | ${r.speedup.toFixed(2).padStart(7)}`);
  }
}

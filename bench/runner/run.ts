/**
 * bench/runner: M trivial tasks × k attempts with the oracle agent at several -n, against the physical floor on this
 * machine: a plain shell loop of podman CLI calls doing the same work per trial (build once, then
 * run/cp/exec/cp/exec/rm), run with the same concurrency. Prints trials/minute, CPU seconds and peak RSS of each
 * whole process tree, and the throughput ratio tmax/floor (goal ≥ 0.8 at every -n).
 *
 *   node --import tsx bench/runner/run.ts [--tasks 8] [--attempts 4] [--n 1,4,16] [--json]
 *
 * With --engines: instead of the floor, the same job through one podman API service vs two (`--engine` twice), see
 * engines.ts.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { defaultContainersConf } from "../../src/environment/podman-service.js";
import { measure, type Measured } from "../lib/measure.js";
import { compareEngines, printEngineRows } from "./engines.js";

const { values } = parseArgs({
  options: {
    tasks: { type: "string", default: "8" },
    attempts: { type: "string", default: "4" },
    n: { type: "string", default: "1,4,16" },
    json: { type: "boolean", default: false },
    engines: { type: "boolean", default: false },
  },
});
const M = Number(values.tasks);
const K = Number(values.attempts);
const NS = values.n.split(",").map(Number);
const CLI = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));

const work = mkdtempSync(join(tmpdir(), "tmax-bench-runner-"));
const ds = join(work, "tasks");
const DOCKERFILE = "FROM debian:bookworm-slim\nWORKDIR /app\n";
for (let i = 0; i < M; i++) {
  const t = join(ds, `trivial-${String(i).padStart(3, "0")}`);
  for (const d of ["environment", "tests", "solution"]) mkdirSync(join(t, d), { recursive: true });
  writeFileSync(join(t, "task.toml"), 'schema_version = "1.1"\n[agent]\ntimeout_sec = 60\n[verifier]\ntimeout_sec = 60\n');
  writeFileSync(join(t, "instruction.md"), "Write ok to /app/ok.\n");
  writeFileSync(join(t, "environment", "Dockerfile"), DOCKERFILE);
  writeFileSync(join(t, "solution", "solve.sh"), "#!/bin/bash\necho ok > /app/ok\n");
  writeFileSync(join(t, "tests", "test.sh"), '#!/bin/bash\n[ "$(cat /app/ok)" = ok ] && echo 1 > /logs/verifier/reward.txt || echo 0 > /logs/verifier/reward.txt\n');
  chmodSync(join(t, "solution", "solve.sh"), 0o755);
  chmodSync(join(t, "tests", "test.sh"), 0o755);
}

const conf = join(work, "containers.conf");
writeFileSync(conf, defaultContainersConf());
const podmanEnv = { ...process.env, CONTAINERS_CONF: process.env.CONTAINERS_CONF ?? conf };

if (values.engines) {
  const rows = await compareEngines({ cli: CLI, tasksDir: ds, jobsDir: join(work, "jobs"), attempts: K, trials: M * K, ns: NS, env: podmanEnv });
  rmSync(work, { recursive: true, force: true });
  if (values.json) console.log(JSON.stringify(rows, null, 2));
  else printEngineRows(rows, `bench/runner --engines: ${M} trivial tasks × ${K} attempts = ${M * K} trials per run, oracle agent, podman services on this machine`);
  process.exit(0);
}

// The floor builds the same image once with the podman CLI.
const FLOOR_IMAGE = "localhost/tmax-bench-floor:latest";
const build = spawnSync("podman", ["build", "-q", "-t", FLOOR_IMAGE, join(ds, "trivial-000", "environment")], { env: podmanEnv, encoding: "utf8" });
if (build.status !== 0) throw new Error(`podman build failed: ${build.stderr}`);

// One trial of the floor: the same steps tmax takes, each a podman CLI call.
const floorTrial = join(work, "floor-trial.sh");
writeFileSync(
  floorTrial,
  `#!/bin/bash
set -e
task="$1"; out="$2/$(basename "$task")-$3"
mkdir -p "$out/agent" "$out/verifier" "$out/artifacts"; chmod 777 "$out/agent" "$out/verifier" "$out/artifacts"
id=$(podman run -d -v "$out/agent:/logs/agent" -v "$out/verifier:/logs/verifier" -v "$out/artifacts:/logs/artifacts" ${FLOOR_IMAGE} sleep infinity)
podman cp "$task/solution" "$id:/solution"
podman exec "$id" bash -c 'bash /solution/solve.sh > /logs/agent/oracle.txt 2>&1' || true
podman cp "$task/tests" "$id:/tests"
podman exec "$id" bash -c 'bash /tests/test.sh > /logs/verifier/test-stdout.txt 2>&1' || true
podman rm -f -t 0 "$id" > /dev/null
[ "$(cat "$out/verifier/reward.txt")" = 1 ]
`,
);
const floorLoop = join(work, "floor.sh");
writeFileSync(
  floorLoop,
  `#!/bin/bash
# usage: floor.sh N OUT — every task × ${K} attempts, N at a time
n="$1"; out="$2"; mkdir -p "$out"
for t in ${ds}/*/; do for a in $(seq 1 ${K}); do echo "\${t%/} $out $a"; done; done \\
  | xargs -P "$n" -L 1 bash ${floorTrial}
`,
);

interface Row {
  n: number;
  tmax: Measured & { trialsPerMin: number; orchestratorCpuSec: number; orchestratorRssMb: number };
  floor: Measured & { trialsPerMin: number };
  ratio: number;
}
const trials = M * K;
const rows: Row[] = [];

// Warm-up: build tmax's image and prime podman's caches so neither side pays a first-run cost.
await measure(process.execPath, [CLI, "run", "-p", ds, "-l", "1", "-o", join(work, "jobs"), "--job-name", "warmup", "-q", "--json"], podmanEnv);
await measure("bash", [floorTrial, join(ds, "trivial-000"), join(work, "floor-warmup"), "0"], podmanEnv);

for (const n of NS) {
  const t = await measure(process.execPath, [CLI, "run", "-p", ds, "-a", "oracle", "-k", String(K), "-n", String(n), "-o", join(work, "jobs"), "--job-name", `n${n}`, "-q", "--json"], podmanEnv);
  if (t.code !== 0) throw new Error(`tmax run failed (n=${n}): ${t.stderr}`);
  const summary = JSON.parse(t.stdout);
  if (summary.n_trials !== trials || summary.mean !== 1) throw new Error(`tmax run: unexpected result ${t.stdout}`);
  const f = await measure("bash", [floorLoop, String(n), join(work, `floor-${n}`)], podmanEnv);
  if (f.code !== 0) throw new Error(`floor loop failed (n=${n}): ${f.stderr}`);
  const tRate = trials / (t.wallSec / 60);
  const fRate = trials / (f.wallSec / 60);
  rows.push({
    n,
    tmax: { ...t, trialsPerMin: tRate, orchestratorCpuSec: summary.orchestrator.cpu_s, orchestratorRssMb: summary.orchestrator.max_rss_mb },
    floor: { ...f, trialsPerMin: fRate },
    ratio: tRate / fRate,
  });
}

spawnSync("podman", ["rmi", "-f", FLOOR_IMAGE], { env: podmanEnv, stdio: "ignore" });
rmSync(work, { recursive: true, force: true });

if (values.json) {
  console.log(JSON.stringify(rows.map((r) => ({ n: r.n, tmax: { ...r.tmax, stdout: undefined, stderr: undefined }, floor: { ...r.floor, stdout: undefined, stderr: undefined }, ratio: r.ratio })), null, 2));
} else {
  const f1 = (x: number): string => x.toFixed(1);
  console.log(`bench/runner: ${M} trivial tasks × ${K} attempts = ${trials} trials per row, oracle agent, podman`);
  console.log("CPU = whole process tree (tmax: node + its podman service; floor: bash + podman CLI calls); conmon/runc excluded on both sides");
  console.log("");
  console.log("  -n | tmax trials/min | floor trials/min | ratio | tmax CPU s (node only) | floor CPU s | tmax peak RSS MB | floor peak RSS MB");
  for (const r of rows) {
    console.log(
      `  ${String(r.n).padStart(2)} | ${f1(r.tmax.trialsPerMin).padStart(15)} | ${f1(r.floor.trialsPerMin).padStart(16)} | ${r.ratio.toFixed(2).padStart(5)} | ` +
        `${(f1(r.tmax.cpuSec) + " (" + f1(r.tmax.orchestratorCpuSec) + ")").padStart(22)} | ${f1(r.floor.cpuSec).padStart(11)} | ` +
        `${f1(r.tmax.peakRssMb).padStart(16)} | ${f1(r.floor.peakRssMb).padStart(17)}`,
    );
  }
  const worst = Math.min(...rows.map((r) => r.ratio));
  console.log(`\nworst ratio ${worst.toFixed(2)} (goal ≥ 0.80): ${worst >= 0.8 ? "met" : "NOT met"}`);
}

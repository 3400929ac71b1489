import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { PodmanService } from "../../src/environment/podman-service.js";
import { finished, podmanContainers, runCli, startCli } from "../helpers/cli.js";
import { tempDir, writeTask } from "../helpers/task-fixture.js";
import { waitFor } from "../helpers/wait.js";

/**
 * `tmax run --engine A --engine B`: two podman API services on two sockets of this test's own (the same podman
 * storage behind both, as two services on one machine are; what matters is which API each trial's container was
 * made through). Every service and container the tests start is removed on every exit path.
 */

const services: PodmanService[] = [];
const jobIds: string[] = [];
after(async () => {
  for (const id of jobIds) for (const c of podmanContainers(`label=tmax.job=${id}`)) spawnSync("podman", ["rm", "-f", c]);
  await Promise.all(services.map((s) => s.stop()));
});

async function twoServices(): Promise<[PodmanService, PodmanService]> {
  const pair = await Promise.all([PodmanService.start(), PodmanService.start()]);
  services.push(...pair);
  return pair;
}

interface TrialOnDisk {
  name: string;
  result: { verifier_result: { rewards: Record<string, number> } | null; exception_info: { exception_type: string } | null; agent_execution: unknown };
  log: string;
}

function trialsIn(jobDir: string): TrialOnDisk[] {
  if (!existsSync(jobDir)) return [];
  return readdirSync(jobDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(jobDir, e.name, "result.json")))
    .map((e) => ({
      name: e.name,
      result: JSON.parse(readFileSync(join(jobDir, e.name, "result.json"), "utf8")) as TrialOnDisk["result"],
      log: existsSync(join(jobDir, e.name, "trial.log")) ? readFileSync(join(jobDir, e.name, "trial.log"), "utf8") : "",
    }));
}

const onEngine = (t: TrialOnDisk, s: PodmanService): boolean => t.log.includes(`created on engine unix://${s.socketPath}`);

function jobIdOf(jobDir: string): string | null {
  const file = join(jobDir, "result.json");
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as { id: string }).id : null;
}

function dataset(n: number, solveSh: string): string {
  const ds = tempDir("tmax-ds-");
  for (let i = 0; i < n; i++) writeTask(ds, `engines-${i}`, { solveSh });
  return ds;
}

test("a job over two engines completes, with trials on both", async () => {
  const [a, b] = await twoServices();
  const jobs = tempDir("tmax-jobs-");
  const env = { TMAX_SESSIONS_DIR: tempDir("tmax-sessions-") };
  const args = ["run", "-p", dataset(4, "#!/bin/bash\nsleep 2\ntouch /app/done\n"), "-o", jobs, "--job-name", "two", "-n", "4", "--json"];
  const r = await runCli([...args, "--engine", `unix://${a.socketPath}`, "--engine", `unix://${b.socketPath}`], { env });
  const jobDir = join(jobs, "two");
  jobIds.push(jobIdOf(jobDir) ?? "none");
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout) as { n_trials: number; n_errored: number; mean: number };
  assert.deepEqual([summary.n_trials, summary.n_errored, summary.mean], [4, 0, 1]);
  const trials = trialsIn(jobDir);
  assert.ok(trials.some((t) => onEngine(t, a)) && trials.some((t) => onEngine(t, b)), trials.map((t) => t.log).join("\n---\n"));
  const config = JSON.parse(readFileSync(join(jobDir, "config.json"), "utf8")) as { environment: { kwargs: { engines: string[] } } };
  assert.deepEqual(config.environment.kwargs.engines, [`unix://${a.socketPath}`, `unix://${b.socketPath}`], "config.json names the engines");
  assert.deepEqual(podmanContainers(`label=tmax.job=${jobIdOf(jobDir)}`), [], "no container left");
});

test("an engine killed mid-job: the job completes on the other and loses no result", async () => {
  const [a, b] = await twoServices();
  const jobs = tempDir("tmax-jobs-");
  const jobDir = join(jobs, "killed-engine");
  const env = { TMAX_SESSIONS_DIR: tempDir("tmax-sessions-") };
  const args = ["run", "-p", dataset(4, "#!/bin/bash\nsleep 6\ntouch /app/done\n"), "-o", jobs, "--job-name", "killed-engine", "-n", "4", "--json"];
  const child = startCli([...args, "--engine", `unix://${a.socketPath}`, "--engine", `unix://${b.socketPath}`], { env });
  const done = finished(child);
  try {
    await waitFor("a trial's agent to run on engine b", () => trialsIn(jobDir).some((t) => onEngine(t, b) && t.result.agent_execution !== null));
    jobIds.push(jobIdOf(jobDir)!);
    process.kill(b.pid!, "SIGKILL");
    const r = await done;
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout) as { n_trials: number; n_errored: number; mean: number };
    assert.deepEqual([summary.n_trials, summary.n_errored, summary.mean], [4, 0, 1], r.stdout);
    assert.match(r.stderr, new RegExp(`container engine unix://${b.socketPath} stopped answering`));
    const result = JSON.parse(readFileSync(join(jobDir, "result.json"), "utf8")) as { stats: { n_retries: number; n_errored_trials: number } };
    assert.ok(result.stats.n_retries >= 1, "the trials lost with engine b were run again");
    assert.equal(result.stats.n_errored_trials, 0);
    const kept = trialsIn(jobDir);
    assert.equal(kept.length, 4, "the lost trials' dirs were replaced by their reruns");
    assert.ok(kept.every((t) => t.result.exception_info === null && t.result.verifier_result?.rewards.reward === 1));
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGINT");
    await done;
  }
});

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { userInfo } from "node:os";
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
const startedAt = Date.now();
after(async () => {
  for (const id of jobIds) for (const c of podmanContainers(`label=tmax.job=${id}`)) spawnSync("podman", ["rm", "-f", c]);
  await Promise.all(services.map((s) => s.stop()));
  removeHalfCreatedContainers(startedAt);
});

/**
 * An engine SIGKILLed between creating a container and starting it leaves the OCI runtime's half of it behind: a
 * runc container in state "created" (its `runc init` and conmon processes) whose podman storage is gone, which
 * podman no longer lists. The test that kills an engine removes what its kill left.
 */
function removeHalfCreatedContainers(since: number): void {
  const listed = spawnSync("runc", ["list", "--format", "json"], { encoding: "utf8" });
  if (listed.status !== 0) return;
  const containers = (JSON.parse(listed.stdout.trim() || "null") ?? []) as { id: string; status: string; bundle: string; created: string }[];
  for (const c of containers) {
    if (c.status === "created" && Date.parse(c.created) >= since && !existsSync(c.bundle)) spawnSync("runc", ["delete", "--force", c.id]);
  }
}

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

test("gen solve over two engines: its job's trials run on both", async () => {
  const [a, b] = await twoServices();
  const corpus = dataset(4, "#!/bin/bash\nsleep 1\ntouch /app/done\n");
  const jobs = tempDir("tmax-jobs-");
  const env = { TMAX_SESSIONS_DIR: tempDir("tmax-sessions-") };
  const r = await runCli(["gen", "solve", corpus, "-a", "oracle", "-k", "1", "-n", "4", "-q", "-o", jobs, "--job-name", "solve", "--engine", `unix://${a.socketPath}`, "--engine", `unix://${b.socketPath}`], { env });
  const jobDir = join(jobs, "solve");
  jobIds.push(jobIdOf(jobDir) ?? "none");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /4 task\(s\) updated with difficulty tiers/);
  const trials = trialsIn(jobDir);
  assert.equal(trials.length, 4);
  assert.ok(trials.some((t) => onEngine(t, a)) && trials.some((t) => onEngine(t, b)), trials.map((t) => t.log).join("\n---\n"));
  assert.deepEqual(podmanContainers(`label=tmax.job=${jobIdOf(jobDir)}`), [], "no container left");
});

test("agent, rollout, gen build and gen solve open the engines --engine names (one that does not answer is named)", async () => {
  const absent = `unix://${join(tempDir("tmax-no-engine-"), "podman.sock")}`;
  const specs = join(tempDir("tmax-specs-"), "specs.jsonl");
  writeFileSync(specs, "{}\n");
  const task = dataset(1, "#!/bin/bash\ntouch /app/done\n");
  const server = ["--base-url", "http://127.0.0.1:9/v1", "-m", "m"];
  const commands = [
    ["agent", "--engine", absent, ...server, "hello"],
    ["rollout", "--engine", absent, "-p", join(task, "engines-0"), "--model-dir", "examples/rl-toy/tokenizer", "--base-url", "http://127.0.0.1:9/v1", "-o", tempDir("tmax-rollouts-")],
    ["gen", "build", specs, "--engine", absent, "-o", tempDir("tmax-corpus-"), ...server],
    ["gen", "solve", task, "-a", "oracle", "-q", "-o", tempDir("tmax-jobs-"), "--engine", absent],
  ];
  const results = await Promise.all(commands.map((args) => runCli(args, { env: { TMAX_SESSIONS_DIR: tempDir("tmax-sessions-") } })));
  results.forEach((r, i) => {
    assert.equal(r.code, 1, `${commands[i]!.slice(0, 2).join(" ")}: ${r.stderr}`);
    assert.ok(r.stderr.includes(`no container engine answers on ${absent}`), `${commands[i]!.slice(0, 2).join(" ")}: ${r.stderr}`);
  });
});

test("Ctrl-C of a job over two engines removes its containers on both and leaves it resumable", async () => {
  const [a, b] = await twoServices();
  const jobs = tempDir("tmax-jobs-");
  const jobDir = join(jobs, "interrupted");
  const env = { TMAX_SESSIONS_DIR: tempDir("tmax-sessions-") };
  const engines = ["--engine", `unix://${a.socketPath}`, "--engine", `unix://${b.socketPath}`];
  const child = startCli(["run", "-p", dataset(2, "#!/bin/bash\nsleep 15\ntouch /app/done\n"), "-o", jobs, "--job-name", "interrupted", "-n", "2", ...engines], { env });
  const done = finished(child);
  try {
    await waitFor("agents running on both engines", () => {
      const running = trialsIn(jobDir).filter((t) => t.result.agent_execution !== null);
      return running.some((t) => onEngine(t, a)) && running.some((t) => onEngine(t, b));
    });
    const jobId = jobIdOf(jobDir)!;
    jobIds.push(jobId);
    assert.equal(podmanContainers(`label=tmax.job=${jobId}`).length, 2);
    child.kill("SIGINT");
    const r = await done;
    assert.equal(r.code, 130, r.stderr);
    assert.deepEqual(podmanContainers(`label=tmax.job=${jobId}`), [], "no container left on either engine");
    const resumed = await runCli(["run", "--resume", jobDir, "--json", ...engines], { env });
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal((JSON.parse(resumed.stdout) as { n_trials: number }).n_trials, 2);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await done;
  }
});

/** A private sshd on a free port with a key of its own in an ssh-agent of its own, for an ssh:// engine URL. */
async function privateSshd(): Promise<{ port: number; authSock: string; stop: () => void }> {
  const dir = tempDir("tmax-sshd-");
  const port = 20_000 + (process.pid % 20_000);
  for (const key of ["host", "client"]) spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, key)]);
  const config = [
    `Port ${port}`,
    "ListenAddress 127.0.0.1",
    `HostKey ${join(dir, "host")}`,
    `AuthorizedKeysFile ${join(dir, "client.pub")}`,
    "StrictModes no",
    "PasswordAuthentication no",
    "UsePAM no",
    `PidFile ${join(dir, "sshd.pid")}`,
    "AllowStreamLocalForwarding yes",
  ].join("\n");
  writeFileSync(join(dir, "sshd_config"), config + "\n");
  mkdirSync("/run/sshd", { recursive: true });
  const sshd = spawn(SSHD, ["-f", join(dir, "sshd_config"), "-D", "-e"], { stdio: "ignore" });
  const authSock = join(dir, "agent.sock");
  const agent = spawn("ssh-agent", ["-D", "-a", authSock], { stdio: "ignore" });
  const stop = (): void => {
    sshd.kill("SIGTERM");
    agent.kill("SIGTERM");
  };
  try {
    await waitFor("ssh-agent's socket", () => existsSync(authSock), 10_000);
    assert.equal(spawnSync("ssh-add", ["-q", join(dir, "client")], { env: { ...process.env, SSH_AUTH_SOCK: authSock } }).status, 0);
    const probe = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-p", String(port), `${userInfo().username}@127.0.0.1`, "true"];
    await waitFor("sshd to accept the key", () => spawnSync("ssh", probe, { env: { ...process.env, SSH_AUTH_SOCK: authSock }, stdio: "ignore" }).status === 0, 10_000);
  } catch (err) {
    stop();
    throw err;
  }
  return { port, authSock, stop };
}

const SSHD = "/usr/sbin/sshd";

test("an ssh:// engine URL with a socket path: the trial runs through SSH forwarding, its logs downloaded", { skip: !existsSync(SSHD) && "no sshd on this machine" }, async () => {
  const service = await PodmanService.start();
  services.push(service);
  const sshd = await privateSshd();
  try {
    const jobs = tempDir("tmax-jobs-");
    const env = { TMAX_SESSIONS_DIR: tempDir("tmax-sessions-"), SSH_AUTH_SOCK: sshd.authSock };
    const url = `ssh://${userInfo().username}@127.0.0.1:${sshd.port}${service.socketPath}`;
    const r = await runCli(["run", "-p", dataset(1, "#!/bin/bash\necho hello over ssh\ntouch /app/done\n"), "-o", jobs, "--job-name", "ssh", "--json", "--engine", url], { env });
    jobIds.push(jobIdOf(join(jobs, "ssh")) ?? "none");
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout) as { n_trials: number; n_errored: number; mean: number };
    assert.deepEqual([summary.n_trials, summary.n_errored, summary.mean], [1, 0, 1], r.stdout);
    const [trial] = trialsIn(join(jobs, "ssh"));
    assert.ok(trial!.log.includes(`created on engine ssh://${userInfo().username}@127.0.0.1:${sshd.port}${service.socketPath}`), trial!.log);
    assert.ok(existsSync(join(jobs, "ssh", trial!.name, "verifier", "reward.txt")), "the verifier's files were downloaded (no bind mounts over ssh)");
  } finally {
    sshd.stop();
  }
});

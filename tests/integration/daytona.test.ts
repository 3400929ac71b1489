import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync, mkdirSync, chmodSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { openDaytonaProvider, type DaytonaProvider } from "../../src/environment/daytona/daytona-provider.js";
import type { Environment } from "../../src/environment/environment.js";
import { loadTask } from "../../src/task/task.js";
import { environmentSpecFor } from "../../src/trial/environment-spec.js";
import type { Sandbox as SandboxDto } from "@daytona/api-client";
import { finished, runCli, startCli, type CliResult } from "../helpers/cli.js";
import { startDaytonaStandin, type DaytonaStandin } from "../helpers/daytona-standin.js";
import { taskRepo, writeRegistry } from "../helpers/git-registry.js";
import { PASS_IF_FILE_TEST, tempDir, writeTask } from "../helpers/task-fixture.js";
import { waitFor } from "../helpers/wait.js";

/**
 * The Daytona provider (`-e daytona`) driven through Daytona's official SDK against a LOCAL STAND-IN of Daytona's
 * HTTP API (tests/helpers/daytona-standin.ts): no Daytona service is reachable from here. The stand-in runs each
 * sandbox as a real podman container and builds each snapshot with podman, so commands, files and builds are real;
 * Daytona's own behaviour (its network enforcement, quotas, regions) is not what these tests check.
 */

const sessions = tempDir("tmax-daytona-sessions-");
process.env.TMAX_SESSIONS_DIR = sessions;
let standin: DaytonaStandin;
let provider: DaytonaProvider;
const logLines: string[] = [];

/** The environment the CLI runs with: the stand-in's URL and key, and this file's session records. */
const cliEnv = (): NodeJS.ProcessEnv => ({ DAYTONA_API_KEY: standin.apiKey, DAYTONA_API_URL: standin.apiUrl, TMAX_SESSIONS_DIR: sessions });

/** A TB2-style task.toml: the environment is a registry image (`[environment].docker_image`). */
const IMAGE_TOML = 'schema_version = "1.1"\n[environment]\ndocker_image = "debian:bookworm-slim"\n[agent]\ntimeout_sec = 60\n[verifier]\ntimeout_sec = 60\n';

interface Summary {
  n_trials: number;
  mean: number;
}
const pick = (s: Summary): Summary => ({ n_trials: s.n_trials, mean: s.mean });

/** The snapshot of every sandbox the stand-in was asked to create for the job in `jobDir`. */
function snapshotsOfJob(jobDir: string): string[] {
  const job = (JSON.parse(readFileSync(join(jobDir, "result.json"), "utf8")) as { id: string }).id;
  return standin.created.filter((c) => c.labels?.["tmax.job"] === job).map((c) => c.snapshot ?? "");
}

/** The result.json text of each finished trial of the job (not the cancelled ones), by trial dir. */
function trialResults(jobDir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of readdirSync(jobDir, { withFileTypes: true })) {
    const file = join(jobDir, e.name, "result.json");
    if (!e.isDirectory() || !existsSync(file)) continue;
    const text = readFileSync(file, "utf8");
    const r = JSON.parse(text) as { finished_at: string | null; exception_info: { exception_type: string } | null };
    if (r.finished_at && r.exception_info?.exception_type !== "CancelledError") out.set(e.name, text);
  }
  return out;
}

before(async () => {
  standin = await startDaytonaStandin();
  provider = await openDaytonaProvider({
    apiKey: standin.apiKey,
    apiUrl: standin.apiUrl,
    retry: { attempts: 4, baseDelaySec: 0.05, maxRetryAfterSec: 1 },
    log: (l) => logLines.push(l),
  });
});

after(async () => {
  await provider?.close();
  await standin?.close();
});

/** Every file under `dir`, relative to it. */
function filesUnder(dir: string, prefix = ""): string[] {
  return readdirSync(join(dir, prefix)).flatMap((name) => {
    const rel = prefix ? `${prefix}/${name}` : name;
    return statSync(join(dir, rel)).isDirectory() ? filesUnder(dir, rel) : [rel];
  });
}

async function startEnvironment(name: string, toml: string, dockerfile = "FROM debian:bookworm-slim\nWORKDIR /app\nRUN useradd -m agent\n"): Promise<Environment> {
  const root = tempDir();
  const task = await loadTask(writeTask(root, name, { toml, dockerfile }));
  const trial = join(root, "trial");
  const logs = { agent: join(trial, "agent"), verifier: join(trial, "verifier"), artifacts: join(trial, "artifacts") };
  const env = provider.createEnvironment(environmentSpecFor(task, { trialName: `${name}__t1`, logs }));
  await env.start();
  return env;
}

describe("-e daytona against a local stand-in of Daytona's API (the SDK pointed at it by apiUrl)", () => {
  test("tmax run: the oracle agent on examples/tasks/hello-world scores 1; the job keeps Daytona's URL, never the key; no sandbox is left", async () => {
    const jobs = tempDir();
    const r = await runCli(["run", "-p", "examples/tasks/hello-world", "-a", "oracle", "-e", "daytona", "--daytona-target", "eu", "-o", jobs, "--job-name", "j", "--json"], {
      env: cliEnv(),
    });
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout) as { mean: number; n_trials: number };
    assert.equal(summary.n_trials, 1);
    assert.equal(summary.mean, 1);
    const jobDir = join(jobs, "j");
    const trialDir = readdirSync(jobDir).find((d) => statSync(join(jobDir, d)).isDirectory())!;
    const result = JSON.parse(readFileSync(join(jobDir, trialDir, "result.json"), "utf8")) as { verifier_result: { rewards: { reward: number } }; exception_info: unknown };
    assert.equal(result.exception_info, null);
    assert.equal(result.verifier_result.rewards.reward, 1);
    // /logs came back by download: the verifier's output is in the trial dir.
    assert.match(readFileSync(join(jobDir, trialDir, "verifier", "test-stdout.txt"), "utf8"), /PASS/);
    const config = JSON.parse(readFileSync(join(jobDir, "config.json"), "utf8")) as { environment: { type: string; kwargs: Record<string, unknown> } };
    assert.equal(config.environment.type, "daytona");
    assert.equal(config.environment.kwargs.daytona_target, "eu");
    for (const f of filesUnder(jobDir)) assert.ok(!readFileSync(join(jobDir, f), "utf8").includes(standin.apiKey), `${f} holds the API key`);
    // The sandbox: from a snapshot named by the environment's content hash and resources, labelled, then deleted.
    const created = standin.created.at(-1)!;
    assert.match(created.snapshot!, /^tmax-env-[0-9a-f]{20}-c1-m1-d2$/);
    assert.equal(created.target, "eu");
    assert.equal(created.labels!["tmax.job"] !== undefined && created.labels!["tmax.trial"] !== undefined && created.labels!["tmax.managed"], "true");
    assert.equal(created.autoDeleteInterval, 0);
    assert.ok((created.autoStopInterval ?? 0) > 0);
    const snap = standin.snapshots.get(created.snapshot!)!;
    assert.deepEqual([snap.dto.cpu, snap.dto.mem, snap.dto.disk], [1, 1, 2]);
    assert.deepEqual(standin.liveSandboxes(), []);
  });

  test("exec: workdir, stdout/stderr, exit code, env, cwd and user; a timeout kills the command's process group; an abort rejects", async () => {
    const env = await startEnvironment("exec-probe", 'schema_version = "1.1"\n[environment]\nenv = { TASK_VAR = "from-task" }\n');
    try {
      const r = await env.exec('pwd; echo "$TASK_VAR $EXTRA"; echo oops >&2; exit 3', { env: { EXTRA: "x" } });
      assert.deepEqual([r.stdout, r.stderr, r.returnCode, r.timedOut], ["/app\nfrom-task x\n", "oops\n", 3, false]);
      assert.equal((await env.exec("whoami", { user: "agent" })).stdout, "agent\n");
      assert.equal((await env.exec("whoami")).stdout, "root\n");
      assert.equal((await env.exec("pwd", { cwd: "/tmp" })).stdout, "/tmp\n");
      const big = await env.exec("head -c 5000 /dev/zero | tr '\\0' a", { maxOutputBytes: 1000 });
      assert.equal(big.stdout, "a".repeat(1000));
      assert.equal(big.stdoutDropped, 4000);

      const started = Date.now();
      const t = await env.exec("sleep 100 & sleep 100; echo never", { timeoutSec: 1 });
      assert.deepEqual([t.timedOut, t.returnCode, t.stdout], [true, 124, ""]);
      assert.ok(Date.now() - started < 8000, `returned after ${Date.now() - started} ms`);
      const left = await env.exec(`for p in /proc/[0-9]*; do [ "$(tr '\\0' ' ' < $p/cmdline 2>/dev/null)" = "sleep 100 " ] && echo $p; done | wc -l`);
      assert.equal(left.stdout.trim(), "0", "both `sleep 100` processes were killed");

      const bg = Date.now();
      assert.equal((await env.exec("sleep 30 & printf started")).stdout, "started");
      assert.ok(Date.now() - bg < 10_000, "a background job does not hold the exec open");

      const ctl = new AbortController();
      setTimeout(() => ctl.abort(new Error("stop now")), 500);
      await assert.rejects(env.exec("sleep 60", { signal: ctl.signal }), /stop now/);
      const after = await env.exec(`for p in /proc/[0-9]*; do [ "$(tr '\\0' ' ' < $p/cmdline 2>/dev/null)" = "sleep 60 " ] && echo $p; done | wc -l`);
      assert.equal(after.stdout.trim(), "0", "the aborted command was killed");
    } finally {
      await env.stop();
    }
  });

  test("upload and download of files and directories round-trip, modes kept, into missing directories", async () => {
    const builds = (): number => standin.requests.filter((q) => q.method === "POST" && q.path === "/api/snapshots").length;
    const before = builds();
    const env = await startEnvironment("files-probe", 'schema_version = "1.1"\n');
    assert.equal(builds(), before, "the snapshot of an identical environment (the exec test's) is reused, not built again");
    try {
      const src = tempDir();
      mkdirSync(join(src, "sub", "deeper"), { recursive: true });
      writeFileSync(join(src, "a.txt"), "alpha\n");
      writeFileSync(join(src, "sub", "deeper", "run.sh"), "#!/bin/sh\necho ran\n");
      chmodSync(join(src, "sub", "deeper", "run.sh"), 0o755);
      await env.uploadDir(src, "/data/in");
      assert.equal((await env.exec("/data/in/sub/deeper/run.sh && cat /data/in/a.txt")).stdout, "ran\nalpha\n");
      await env.uploadFile(join(src, "a.txt"), "/new/dir/b.txt");
      assert.equal(await env.isFile("/new/dir/b.txt"), true);
      assert.equal(await env.isDir("/new/dir"), true);
      assert.equal(await env.isDir("/nowhere"), false);

      await env.exec("mkdir -p /out/x && echo one > /out/x/1.txt && printf two > /out/2.txt && chmod 700 /out/2.txt");
      const dst = tempDir();
      await env.downloadDir("/out", join(dst, "copy"));
      assert.deepEqual(filesUnder(join(dst, "copy")).sort(), ["2.txt", "x/1.txt"]);
      assert.equal(readFileSync(join(dst, "copy", "x", "1.txt"), "utf8"), "one\n");
      assert.equal(statSync(join(dst, "copy", "2.txt")).mode & 0o777, 0o700);
      await env.downloadFile("/out/2.txt", join(dst, "single", "two.txt"));
      assert.equal(readFileSync(join(dst, "single", "two.txt"), "utf8"), "two");
      await assert.rejects(env.downloadFile("/out/missing.txt", join(dst, "m.txt")));
    } finally {
      await env.stop();
    }
  });

  test("network: no-network becomes Daytona's network block (the sandbox has no network); an allowlist becomes its domain and CIDR lists; IPv6 and more than 5 ranges are refused before any sandbox exists", async () => {
    const blocked = await startEnvironment("net-none", 'schema_version = "1.1"\n[environment]\nallow_internet = false\n');
    try {
      assert.equal(standin.created.at(-1)!.networkBlockAll, true);
      const ifaces = await blocked.exec("ls /sys/class/net");
      assert.equal(ifaces.stdout.trim(), "lo", "the stand-in gives a blocked sandbox loopback only");
    } finally {
      await blocked.stop();
    }
    const listed = await startEnvironment(
      "net-allow",
      'schema_version = "1.3"\n[environment]\nnetwork_mode = "allowlist"\nallowed_hosts = ["pypi.org", "*.pythonhosted.org", "192.0.2.7", "198.51.100.0/24"]\n',
    );
    await listed.stop();
    const req = standin.created.at(-1)!;
    assert.equal(req.domainAllowList, "pypi.org,*.pythonhosted.org");
    assert.equal(req.networkAllowList, "192.0.2.7/32,198.51.100.0/24");
    assert.notEqual(req.networkBlockAll, true);

    const before = standin.created.length;
    await assert.rejects(
      startEnvironment("net-v6", 'schema_version = "1.3"\n[environment]\nnetwork_mode = "allowlist"\nallowed_hosts = ["2001:db8::1"]\n'),
      (err: Error) => err.name === "UnenforceableNetworkError" && /IPv6/.test(err.message),
    );
    const six = JSON.stringify(["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5", "192.0.2.6"]);
    await assert.rejects(
      startEnvironment("net-many", `schema_version = "1.3"\n[environment]\nnetwork_mode = "allowlist"\nallowed_hosts = ${six}\n`),
      /at most 5/,
    );
    assert.equal(standin.created.length, before, "no sandbox was created for a policy Daytona cannot enforce");
  });

  test("rate limits (429 with Retry-After) and transient errors (502, 503) are retried with back-off; one sandbox despite the retries", async () => {
    standin.faults.push({ method: "POST", path: /^\/api\/sandbox$/, status: 429, times: 2, headers: { "retry-after": "0" } });
    standin.faults.push({ method: "GET", path: /\/command\/[^/]+$/, status: 502, times: 1 });
    standin.faults.push({ method: "POST", path: /\/process\/session$/, status: 503, times: 1 });
    const env = await startEnvironment("retry-probe", 'schema_version = "1.1"\n');
    try {
      assert.equal((await env.exec("echo fine")).stdout, "fine\n");
    } finally {
      await env.stop();
    }
    assert.ok(standin.faults.every((f) => f.times === 0), "every injected failure was hit");
    assert.ok(logLines.some((l) => /HTTP 429/.test(l) && /retry 1 of 3/.test(l)), logLines.join("\n"));
    assert.ok(logLines.some((l) => /HTTP 502/.test(l)));
    assert.equal(standin.created.filter((c) => c.name?.startsWith("tmax-retry-probe")).length, 1, "one sandbox despite the retries");
  });

  test("a missing or wrong API key fails at once with an error naming DAYTONA_API_KEY", async () => {
    const jobs = tempDir();
    const wrong = await runCli(["run", "-p", "examples/tasks/hello-world", "-e", "daytona", "-o", jobs], { env: { ...cliEnv(), DAYTONA_API_KEY: "not-the-key" } });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /rejected the API key \(HTTP 401/);
    assert.match(wrong.stderr, /DAYTONA_API_KEY/);
    const missing = await runCli(["sandboxes", "list", "-e", "daytona"], { env: { ...cliEnv(), DAYTONA_API_KEY: "" } });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no Daytona API key: set DAYTONA_API_KEY/);
    await assert.rejects(openDaytonaProvider({ apiKey: "wrong", apiUrl: standin.apiUrl }), (err: Error) => err.name === "DaytonaAuthError" && /DAYTONA_API_KEY/.test(err.message));
  });

  test("Ctrl-C during a run deletes its sandboxes (exit 130); a SIGKILLed run's sandboxes are orphans that `tmax sandboxes prune -e daytona` deletes, never a live run's", async () => {
    const slow = "examples/tasks/slow-solution";
    const sandboxesOf = (job: string): number => standin.liveSandboxes().filter((d) => d.labels["tmax.job"] === job).length;
    const jobIdOf = (dir: string): string => (JSON.parse(readFileSync(join(dir, "result.json"), "utf8")) as { id: string }).id;
    const jobs = tempDir();

    // Ctrl-C: the run deletes what it made.
    const interrupted = startCli(["run", "-p", slow, "-a", "oracle", "-e", "daytona", "-o", jobs, "--job-name", "int", "--timeout-multiplier", "30"], { env: cliEnv() });
    await waitFor("the interrupted run's sandbox", () => existsSync(join(jobs, "int", "result.json")) && sandboxesOf(jobIdOf(join(jobs, "int"))) === 1, 120_000);
    interrupted.kill("SIGINT");
    const r = await finished(interrupted);
    assert.equal(r.code, 130, r.stderr);
    assert.equal(sandboxesOf(jobIdOf(join(jobs, "int"))), 0, "Ctrl-C deleted the sandbox");

    // SIGKILL: nothing can clean up; the sandbox stays, labelled with its dead owner.
    const killed = startCli(["run", "-p", slow, "-a", "oracle", "-e", "daytona", "-o", jobs, "--job-name", "dead", "--timeout-multiplier", "30"], { env: cliEnv() });
    await waitFor("the killed run's sandbox", () => existsSync(join(jobs, "dead", "result.json")) && sandboxesOf(jobIdOf(join(jobs, "dead"))) === 1, 120_000);
    const deadJob = jobIdOf(join(jobs, "dead"));
    killed.kill("SIGKILL");
    await finished(killed);
    // A live sandbox of this process (an owner that runs) must survive the prune.
    const mine = await startEnvironment("prune-keeps-live", 'schema_version = "1.1"\n');
    try {
      const listed = await runCli(["sandboxes", "list", "-e", "daytona", "--json"], { env: cliEnv() });
      assert.equal(listed.code, 0, listed.stderr);
      const rows = JSON.parse(listed.stdout) as { job: string | null; owner: string }[];
      assert.deepEqual(rows.filter((x) => x.job === deadJob).map((x) => x.owner), ["dead"]);
      assert.ok(rows.some((x) => x.owner === "alive"));
      const warned = await runCli(["run", "-p", "examples/tasks/hello-world", "-e", "daytona", "-o", jobs, "--job-name", "after"], { env: cliEnv() });
      assert.match(warned.stderr, new RegExp(`1 Daytona sandbox\\(es\\) of job ${deadJob}.*tmax sandboxes prune -e daytona --job ${deadJob}`));

      const pruned = await runCli(["sandboxes", "prune", "-e", "daytona", "--json"], { env: cliEnv() });
      assert.equal(pruned.code, 0, pruned.stderr);
      const report = JSON.parse(pruned.stdout) as { containers_removed: number };
      assert.equal(report.containers_removed, 1);
      assert.equal(sandboxesOf(deadJob), 0, "the orphan is deleted");
      assert.equal(await mine.isDir("/"), true, "a live run's sandbox is kept");
    } finally {
      await mine.stop();
    }
  });

  test("--no-delete: the trial's sandbox is stopped, not deleted, and the end of the run keeps it (Daytona's auto-delete off); prune deletes it once its run is gone", async () => {
    const jobs = tempDir();
    const r = await runCli(["run", "-p", "examples/tasks/hello-world", "-a", "oracle", "-e", "daytona", "--no-delete", "-o", jobs, "--job-name", "kept", "--json"], { env: cliEnv() });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { mean: number }).mean, 1);
    const job = (JSON.parse(readFileSync(join(jobs, "kept", "result.json"), "utf8")) as { id: string }).id;
    const kept = standin.liveSandboxes().filter((d) => d.labels["tmax.job"] === job);
    assert.deepEqual(kept.map((d) => d.state), ["stopped"], "stopped by its trial, not deleted by the run's clean-up");
    assert.equal(standin.created.find((c) => c.labels?.["tmax.job"] === job)?.autoDeleteInterval, -1);
    const pruned = await runCli(["sandboxes", "prune", "-e", "daytona", "--job", job, "--json"], { env: cliEnv() });
    assert.equal(pruned.code, 0, pruned.stderr);
    assert.equal(standin.liveSandboxes().filter((d) => d.labels["tmax.job"] === job).length, 0);
  });

  test("-d from a local registry runs on Daytona: tasks checked out of git, the dataset and Daytona's settings recorded; mounts and engine kwargs are refused with -e daytona", async () => {
    const work = tempDir("tmax-daytona-registry-");
    const repo = taskRepo(join(work, "repo"));
    const commit = repo.commit({ "reg-day": {} });
    const registry = writeRegistry(join(work, "registry.json"), [{ name: "demo", version: "1.0", tasks: [{ name: "reg-day", git_url: repo.url, git_commit_id: commit, path: "tasks/reg-day" }] }]);
    const env = { ...cliEnv(), TMAX_CACHE_DIR: join(work, "cache") };
    const jobs = join(work, "jobs");
    const r = await runCli(["run", "-d", "demo@1.0", "--registry-path", registry, "-a", "oracle", "-e", "daytona", "--daytona-auto-stop", "5", "-o", jobs, "--job-name", "rd", "--json"], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((JSON.parse(r.stdout) as { n_trials: number; mean: number }).mean, 1);
    const config = JSON.parse(readFileSync(join(jobs, "rd", "config.json"), "utf8")) as { environment: { type: string; kwargs: Record<string, unknown> }; datasets: { name: string; version: string }[] };
    assert.equal(config.environment.type, "daytona");
    assert.deepEqual(config.environment.kwargs, { auto_stop_interval_mins: 5 });
    assert.deepEqual(config.datasets.map((d) => [d.name, d.version]), [["demo", "1.0"]]);
    assert.equal(standin.created.at(-1)!.autoStopInterval, 5);

    const mounts = await runCli(["run", "-p", "examples/tasks/hello-world", "-e", "daytona", "--mounts-json", '[{"type":"bind","source":"/tmp","target":"/data"}]', "-o", jobs], { env });
    assert.equal(mounts.code, 2);
    assert.match(mounts.stderr, /a Daytona sandbox cannot mount this machine's paths or volumes/);
    const kwarg = await runCli(["run", "-p", "examples/tasks/hello-world", "-e", "daytona", "--ek", "snapshot_template_name=x", "-o", jobs], { env });
    assert.equal(kwarg.code, 2);
    assert.match(kwarg.stderr, /unknown environment kwarg\(s\) 'snapshot_template_name' for the daytona environment; tmax knows daytona_api_url, daytona_target, auto_stop_interval_mins/);
    const flag = await runCli(["run", "-p", "examples/tasks/hello-world", "--daytona-target", "eu", "-o", jobs], { env });
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /'daytona_target' for the podman environment.*the --daytona-\* flags are for -e daytona/);
  });

  test("a docker_image task (Terminal-Bench 2.0's shape) runs from a snapshot of Image.base(<image>), not its Dockerfile, and scores 1 with its oracle; tasks and later runs with that image reuse the snapshot", async () => {
    const ds = tempDir("tmax-daytona-img-");
    // TB2's shape: a docker_image and an environment/Dockerfile (only the fallback), which here would not even build.
    writeTask(ds, "img-tb2", { toml: IMAGE_TOML, dockerfile: "FROM debian:bookworm-slim\nRUN exit 1\n", solveSh: "#!/bin/bash\ntouch done\n", testSh: PASS_IF_FILE_TEST("done") });
    // A docker_image alone: environment/'s files are copied into the workdir.
    writeTask(ds, "img-files", {
      toml: IMAGE_TOML,
      dockerfile: null,
      files: { "environment/input.txt": "42\n" },
      solveSh: "#!/bin/bash\ncp input.txt answer.txt\n",
      testSh: '#!/bin/bash\nif [ "$(cat answer.txt)" = 42 ]; then echo 1; else echo 0; fi > /logs/verifier/reward.txt\n',
    });
    const jobs = tempDir();
    const builds = standin.snapshotCreates.length;
    const first = await runCli(["run", "-p", ds, "-a", "oracle", "-e", "daytona", "-n", "2", "-o", jobs, "--job-name", "img1", "--json"], { env: cliEnv() });
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(pick(JSON.parse(first.stdout) as Summary), { n_trials: 2, mean: 1 });
    const made = standin.snapshotCreates.slice(builds);
    assert.equal(made.length, 1, "one snapshot for the two tasks of one image");
    const [req] = made;
    assert.match(req!.name, /^tmax-img-[0-9a-f]{20}-default$/);
    // What the SDK sends for Image.base(image): a build of `FROM <image>` with no context, not a Dockerfile's text.
    assert.deepEqual(req!.buildInfo, { contextHashes: [], dockerfileContent: "FROM debian:bookworm-slim\n" });
    assert.equal(req!.imageName, undefined);
    assert.equal(standin.snapshots.get(req!.name)?.dto.state, "active");
    assert.deepEqual(snapshotsOfJob(join(jobs, "img1")), [req!.name, req!.name]);

    const second = await runCli(["run", "-p", join(ds, "img-files"), "-a", "oracle", "-e", "daytona", "-o", jobs, "--job-name", "img2", "--json"], { env: cliEnv() });
    assert.equal(second.code, 0, second.stderr);
    assert.equal((JSON.parse(second.stdout) as Summary).mean, 1);
    assert.equal(standin.snapshotCreates.length, builds + 1, "the second run reused the snapshot: no create");
    assert.deepEqual(snapshotsOfJob(join(jobs, "img2")), [req!.name]);
    assert.deepEqual(standin.liveSandboxes(), []);
  });

  test("--force-build makes cached snapshots again (a Dockerfile task's from its Dockerfile, a docker_image task's from the image; TB2's shape builds its Dockerfile), waiting while Daytona removes the old ones", async () => {
    const ds = tempDir("tmax-daytona-force-");
    writeTask(ds, "force-dockerfile", { dockerfile: "FROM debian:bookworm-slim\nWORKDIR /app\nRUN echo force > /force\n" });
    writeTask(ds, "force-image", { toml: IMAGE_TOML, dockerfile: null, solveSh: "#!/bin/bash\ntouch done\n", testSh: PASS_IF_FILE_TEST("done") });
    writeTask(ds, "force-tb2", { toml: IMAGE_TOML, dockerfile: "FROM debian:bookworm-slim\nRUN echo tb2 > /tb2\n", solveSh: "#!/bin/bash\ntouch done\n", testSh: PASS_IF_FILE_TEST("done") });
    const jobs = tempDir();
    const run = (name: string, ...flags: string[]): Promise<CliResult> =>
      runCli(["run", "-p", ds, "-a", "oracle", "-e", "daytona", "-n", "3", "-o", jobs, "--job-name", name, "--json", ...flags], { env: cliEnv() });
    const cached = await run("cached");
    assert.equal(cached.code, 0, cached.stderr);
    assert.equal((JSON.parse(cached.stdout) as Summary).mean, 1);
    const [dockerfileSnap, imageSnap] = [...new Set(snapshotsOfJob(join(jobs, "cached")))].sort();
    assert.match(dockerfileSnap!, /^tmax-env-/);
    assert.match(imageSnap!, /^tmax-img-/);
    const builds = standin.snapshotCreates.length;
    const deletes = standin.requests.filter((q) => q.method === "DELETE" && q.path.startsWith("/api/snapshots/")).length;

    const forced = await run("forced", "--force-build");
    assert.equal(forced.code, 0, forced.stderr);
    assert.deepEqual(pick(JSON.parse(forced.stdout) as Summary), { n_trials: 3, mean: 1 });
    const made = standin.snapshotCreates.slice(builds);
    const tb2Snap = made.find((r) => r.buildInfo?.dockerfileContent.includes("echo tb2"))?.name;
    assert.match(tb2Snap ?? "", /^tmax-env-/, "TB2's shape with --force-build builds its Dockerfile");
    assert.deepEqual(made.map((r) => r.name).sort(), [dockerfileSnap, tb2Snap, imageSnap].sort(), "each snapshot made once more, the cached ones again under their names");
    assert.deepEqual(made.find((r) => r.name === imageSnap)?.buildInfo, { contextHashes: [], dockerfileContent: "FROM debian:bookworm-slim\n" });
    assert.equal(standin.requests.filter((q) => q.method === "DELETE" && q.path.startsWith("/api/snapshots/")).length, deletes + 2, "the two cached snapshots were deleted first");
    assert.deepEqual(snapshotsOfJob(join(jobs, "forced")).sort(), [dockerfileSnap, tb2Snap, imageSnap].sort());
    assert.deepEqual(standin.liveSandboxes(), []);
  });

  test("a docker_image the stand-in cannot pull: the task's Dockerfile is built instead (reward 1); with no Dockerfile the trial fails with ImageUnavailableError", async () => {
    const ds = tempDir("tmax-daytona-nopull-");
    // Nothing listens on localhost:1: the pull fails at once, as a pull from a registry Daytona cannot reach.
    const toml = IMAGE_TOML.replace("debian:bookworm-slim", "localhost:1/tmax-no-such-image:1");
    writeTask(ds, "nopull-fallback", { toml });
    writeTask(ds, "nopull-alone", { toml, dockerfile: null });
    const jobs = tempDir();
    const r = await runCli(["run", "-p", ds, "-a", "oracle", "-e", "daytona", "-n", "2", "-o", jobs, "--job-name", "nopull", "--json"], { env: cliEnv() });
    assert.equal(r.code, 0, r.stderr);
    const results = [...trialResults(join(jobs, "nopull")).entries()].map(([dir, text]) => {
      const res = JSON.parse(text) as { exception_info: { exception_type: string; exception_message: string } | null; verifier_result: { rewards: { reward: number } } | null };
      return [dir.replace(/__.*/, ""), res.exception_info?.exception_type ?? null, res.verifier_result?.rewards.reward ?? null, res.exception_info?.exception_message ?? ""] as const;
    });
    const byTask = new Map(results.map(([task, ...rest]) => [task, rest]));
    assert.deepEqual(byTask.get("nopull-fallback")?.slice(0, 2), [null, 1]);
    assert.equal(byTask.get("nopull-alone")?.[0], "ImageUnavailableError");
    assert.match(byTask.get("nopull-alone")?.[2] ?? "", /Daytona could not pull image "localhost:1\/tmax-no-such-image:1"/);
    assert.deepEqual(snapshotsOfJob(join(jobs, "nopull")).map((n) => n.replace(/-[0-9a-f]{20}-/, "-")), ["tmax-env-default"], "one sandbox: from the Dockerfile's snapshot");
    assert.deepEqual(standin.liveSandboxes(), []);
  });

  test("Ctrl-C mid-job leaves no sandbox in the stand-in (their containers gone too); --resume completes the job with every trial's result; every sandbox asked for the job's auto-stop", async () => {
    const ds = tempDir("tmax-daytona-resume-");
    writeTask(ds, "resume-fast");
    for (const n of ["resume-slow-1", "resume-slow-2"]) writeTask(ds, n, { solveSh: "#!/bin/bash\nsleep 10\ntouch /app/done\n" });
    const jobs = tempDir();
    const jobDir = join(jobs, "resumed");
    const jobId = (): string => (JSON.parse(readFileSync(join(jobDir, "result.json"), "utf8")) as { id: string }).id;
    const live = (): SandboxDto[] => standin.liveSandboxes().filter((d) => d.labels["tmax.job"] === jobId());
    const child = startCli(["run", "-p", ds, "-a", "oracle", "-e", "daytona", "-n", "3", "--daytona-auto-stop", "7", "-o", jobs, "--job-name", "resumed"], { env: cliEnv() });
    await waitFor("the fast trial done and the slow ones running", () => existsSync(join(jobDir, "result.json")) && trialResults(jobDir).size === 1 && live().length === 2, 120_000);
    const before = trialResults(jobDir);
    const running = live().map((d) => standin.sandboxes.get(d.id)!.containerId);
    child.kill("SIGINT");
    const interrupted = await finished(child);
    assert.equal(interrupted.code, 130, interrupted.stderr);
    assert.match(interrupted.stdout, /Resume with: npx tmax run --resume/);
    assert.deepEqual(live(), [], "Ctrl-C deleted the running trials' sandboxes");
    for (const id of running) await assert.rejects(standin.docker.getContainer(id).inspect(), "and the stand-in removed their containers");
    const createdBefore = standin.created.length;

    const resumed = await runCli(["run", "--resume", jobDir, "--json"], { env: cliEnv() });
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.deepEqual(pick(JSON.parse(resumed.stdout) as Summary), { n_trials: 3, mean: 1 });
    const after = trialResults(jobDir);
    assert.equal(after.size, 3, "every trial has its result");
    for (const text of after.values()) {
      const r = JSON.parse(text) as { exception_info: unknown; verifier_result: { rewards: { reward: number } } };
      assert.deepEqual([r.exception_info, r.verifier_result.rewards.reward], [null, 1]);
    }
    for (const [name, text] of before) assert.equal(after.get(name), text, `${name} was kept as it was`);
    assert.equal(standin.created.length - createdBefore, 2, "the resumed run made sandboxes for the two interrupted trials only");
    assert.deepEqual(live(), []);
    const mine = standin.created.filter((c) => c.labels?.["tmax.job"] === jobId());
    assert.equal(mine.length, 5);
    // tmax sets Daytona's auto-stop on every sandbox (the resumed run from config.json), and deletion on stop.
    assert.deepEqual([...new Set(mine.map((c) => `${c.autoStopInterval}/${c.autoDeleteInterval}`))], ["7/0"]);
  });

  test("the provider's removeAll (the run's Ctrl-C path) deletes a sandbox whose trial is still starting or running", async () => {
    const env = await startEnvironment("remove-all", 'schema_version = "1.1"\n');
    const running = env.exec("sleep 30").catch((err: unknown) => err);
    await provider.removeAll();
    assert.equal(standin.liveSandboxes().filter((d) => d.name.startsWith("tmax-remove-all")).length, 0);
    assert.ok((await running) !== undefined);
    await env.stop();
  });
});


import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ResourceLimitError } from "../../src/environment/engine-errors.js";
import { openProvider, type EngineProvider } from "../../src/environment/providers.js";
import type { Environment } from "../../src/environment/environment.js";
import { loadTask, type Task } from "../../src/task/task.js";
import { environmentSpecFor, imageSourceFor } from "../../src/trial/environment-spec.js";
import { tempDir, writeTask } from "../helpers/task-fixture.js";
import { podmanContainers } from "../helpers/cli.js";

let provider: EngineProvider;
let env: Environment;
let task: Task;
let logs: { agent: string; verifier: string; artifacts: string };

before(async () => {
  provider = await openProvider("podman");
  const root = tempDir();
  task = await loadTask(
    writeTask(root, "env-probe", {
      toml: 'schema_version = "1.1"\n[environment]\ncpus = 1\nmemory_mb = 256\nallow_internet = false\nenv = { TASK_VAR = "from-task" }\n',
      dockerfile: "FROM debian:bookworm-slim\nWORKDIR /app\nRUN useradd -m agent && echo built > /app/built.txt\n",
    }),
  );
  const trial = join(root, "trial");
  logs = { agent: join(trial, "agent"), verifier: join(trial, "verifier"), artifacts: join(trial, "artifacts") };
  env = provider.createEnvironment(environmentSpecFor(task, { trialName: "env-probe__test", logs }));
  await env.start();
});

after(async () => {
  await env?.stop();
  await provider?.close();
});

describe("podman environment", () => {
  test("exec: workdir, stdout/stderr, real exit code, env and user", async () => {
    const r = await env.exec('pwd; cat built.txt; echo "$TASK_VAR $EXTRA"; echo oops >&2; exit 3', { env: { EXTRA: "x" } });
    assert.equal(r.stdout, "/app\nbuilt\nfrom-task x\n");
    assert.equal(r.stderr, "oops\n");
    assert.equal(r.returnCode, 3);
    assert.equal(r.timedOut, false);
    assert.equal((await env.exec("whoami", { user: "agent" })).stdout, "agent\n");
    assert.equal((await env.exec("pwd", { cwd: "/tmp" })).stdout, "/tmp\n");
  });

  test("a timeout kills the command's whole process group and returns promptly", async () => {
    const started = Date.now();
    const r = await env.exec("sleep 100 & sleep 100; echo never", { timeoutSec: 1 });
    const secs = (Date.now() - started) / 1000;
    assert.equal(r.timedOut, true);
    assert.equal(r.returnCode, 124);
    assert.equal(r.stdout, "");
    assert.ok(secs < 5, `returned after ${secs}s`);
    const left = await env.exec(
      `for p in /proc/[0-9]*; do [ "$(tr '\\0' ' ' < $p/cmdline 2>/dev/null)" = "sleep 100 " ] && echo $p; done | wc -l`,
    );
    assert.equal(left.stdout.trim(), "0", "both `sleep 100` processes were killed");
  });

  test("a command that leaves a background job running returns as soon as it exits", async () => {
    const started = Date.now();
    const r = await env.exec("sleep 30 & printf started");
    assert.equal(r.stdout, "started");
    assert.equal(r.returnCode, 0);
    assert.ok(Date.now() - started < 15_000, `took ${Date.now() - started} ms (the background job sleeps 30 s)`);
    const killed = await env.exec("bash -c 'kill -9 $$'; echo after");
    assert.equal(killed.stdout, "after\n");
    const status = await env.exec("bash -c 'exit 300'");
    assert.equal(status.returnCode, 44, "exit statuses are reported modulo 256 like any shell");
  });

  test("abort via signal kills the command and rejects with the reason", async () => {
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(new Error("stop now")), 300);
    await assert.rejects(env.exec("sleep 60", { signal: ctl.signal }), /stop now/);
  });

  test("a flood of output is capped in memory (head and tail kept)", async () => {
    const r = await env.exec("yes 0123456789 | head -c 50000000; echo END", { maxOutputBytes: 10000 });
    assert.equal(r.returnCode, 0);
    assert.equal(r.stdout.length, 10000);
    assert.ok(r.stdout.startsWith("0123456789\n"));
    assert.ok(r.stdout.endsWith("END\n"));
    assert.equal(r.stdoutDropped, 50000004 - 10000);
  });

  test("upload and download of files and directories", async () => {
    const src = tempDir();
    mkdirSync(join(src, "sub"));
    writeFileSync(join(src, "a.txt"), "A");
    writeFileSync(join(src, "sub", "b.sh"), "echo B");
    await env.uploadDir(src, "/data/in");
    assert.equal((await env.exec("cat /data/in/a.txt /data/in/sub/b.sh")).stdout, "Aecho B");
    await env.uploadFile(join(src, "a.txt"), "/deep/new/dir/renamed.txt");
    assert.equal((await env.exec("cat /deep/new/dir/renamed.txt")).stdout, "A");
    assert.equal(await env.isDir("/data/in/sub"), true);
    assert.equal(await env.isFile("/data/in/sub"), false);
    assert.equal(await env.isFile("/data/in/a.txt"), true);
    const out = tempDir();
    await env.downloadDir("/data/in", join(out, "copy"));
    assert.equal(readFileSync(join(out, "copy", "sub", "b.sh"), "utf8"), "echo B");
    await env.downloadFile("/app/built.txt", join(out, "f", "built.txt"));
    assert.equal(readFileSync(join(out, "f", "built.txt"), "utf8"), "built\n");
  });

  test("uploads stream: a 50 MB file arrives whole (size and sha256 checked in the container)", async () => {
    const src = tempDir();
    const bytes = randomBytes(50 * 1024 * 1024);
    writeFileSync(join(src, "big.bin"), bytes);
    const sha = createHash("sha256").update(bytes).digest("hex");
    await env.uploadDir(src, "/data/big");
    await env.uploadFile(join(src, "big.bin"), "/data/single/copy.bin");
    const r = await env.exec("for f in /data/big/big.bin /data/single/copy.bin; do stat -c %s $f; sha256sum < $f; done");
    assert.equal(r.stdout, `${bytes.length}\n${sha}  -\n`.repeat(2), r.stderr);
    await assert.rejects(env.uploadFile(join(src, "missing.bin"), "/data/x"), /missing\.bin: could not be added to the archive: ENOENT/);
    await env.exec("rm -rf /data/big /data/single");
    rmSync(src, { recursive: true, force: true });
  });

  test("/logs dirs are the trial's host folders, writable by any user", async () => {
    await env.exec("echo hi > /logs/agent/from-agent.txt", { user: "agent" });
    assert.equal(readFileSync(join(logs.agent, "from-agent.txt"), "utf8"), "hi\n");
    assert.ok(existsSync(logs.verifier) && existsSync(logs.artifacts));
  });

  test("allow_internet = false: no network interface but loopback", async () => {
    assert.equal((await env.exec("ls /sys/class/net")).stdout.trim(), "lo");
  });

  test("cpus and memory limits are applied to the container", async () => {
    const r = await env.exec(
      "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max; cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cut -d' ' -f1 /sys/fs/cgroup/cpu.max",
    );
    const [mem, cpu] = r.stdout.trim().split("\n");
    assert.equal(mem, String(256 * 1024 * 1024));
    assert.equal(cpu, "100000");
  });

  test("limits the engine refuses are errors naming the spec's limit, with the engine's words; nothing is left behind", async () => {
    const refused = async (trialName: string, memoryMb: number, engineWords: RegExp): Promise<void> => {
      const spec = environmentSpecFor(task, { trialName, logs });
      const e = provider.createEnvironment({ ...spec, resources: { ...spec.resources, memoryMb } });
      try {
        await assert.rejects(e.start(), (err: Error) => {
          assert.ok(err instanceof ResourceLimitError, String(err));
          assert.equal(err.resource, "memoryMb");
          assert.ok(err.message.startsWith(`env-probe: resources.memoryMb = ${memoryMb}: the container engine refused it: `), err.message);
          assert.match(err.engineMessage, engineWords);
          assert.ok(err.cause instanceof Error && (err.cause as { statusCode?: number }).statusCode !== undefined, "the engine's error is the cause");
          return true;
        });
      } finally {
        await e.stop();
      }
      assert.equal(podmanContainers(`label=tmax.trial=${trialName}`).length, 0);
    };
    await refused("env-probe__tiny", 1, /memory limit/); // runc cannot start it
    await refused("env-probe__huge", 99999999999 * 1024, /Memory/); // more bytes than an int64 holds
  });

  test("the image is built once and reused (content-hash tag)", async () => {
    const tag = await provider.images.tagFor(task.environmentDir);
    assert.ok(await provider.images.exists(tag));
    const lines: string[] = [];
    const other = await openProvider("podman");
    try {
      await other.prepareImage(imageSourceFor(task), { log: (l) => lines.push(l) });
    } finally {
      await other.close();
    }
    assert.ok(lines.some((l) => l.includes("is cached")), lines.join("\n"));
    assert.ok(!lines.some((l) => l.startsWith("STEP")), "no build steps ran");
  });

  test("stop removes the container", async () => {
    const e2 = provider.createEnvironment(environmentSpecFor(task, { trialName: "env-probe__stop", logs }));
    await e2.start();
    assert.equal(podmanContainers(`label=tmax.trial=env-probe__stop`).length, 1);
    await e2.stop();
    await e2.stop(); // idempotent
    assert.equal(podmanContainers(`label=tmax.trial=env-probe__stop`).length, 0);
  });
});

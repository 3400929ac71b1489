import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { Agent } from "../../src/agent/agent.js";
import { ENGINE_UNAVAILABLE, isConnectionError } from "../../src/environment/engine-errors.js";
import { EnginePool } from "../../src/environment/engine-pool.js";
import { formatEngineAddress, parseEngineUrl } from "../../src/environment/engine-url.js";
import type { Environment, EnvironmentProvider, EnvironmentSpec } from "../../src/environment/environment.js";
import { ownerLabelValue, parseOwnerLabel } from "../../src/environment/labels.js";
import { buildJobConfig, configuredEngines } from "../../src/job/config.js";
import { runJob } from "../../src/job/job.js";
import { jobResultSchema } from "../../src/job/schema.js";
import { discoverTasks } from "../../src/task/dataset.js";
import { LeastInFlight } from "../../src/util/least-in-flight.js";
import { sleep } from "../../src/util/sleep.js";
import { fakeProvider } from "../helpers/fake-provider.js";
import { runOptions } from "../helpers/run-options.js";
import { tempDir, writeTask } from "../helpers/task-fixture.js";

const refused = (): Error => Object.assign(new Error("connect ECONNREFUSED /run/engine.sock"), { code: "ECONNREFUSED", syscall: "connect" });

describe("engine URLs (CONTAINER_HOST / DOCKER_HOST forms)", () => {
  test("unix, a bare path, tcp and ssh with and without user, port and socket path", () => {
    assert.deepEqual(parseEngineUrl("unix:///run/podman/podman.sock"), { kind: "unix", socketPath: "/run/podman/podman.sock" });
    assert.deepEqual(parseEngineUrl("/tmp/a.sock"), { kind: "unix", socketPath: "/tmp/a.sock" });
    assert.deepEqual(parseEngineUrl("tcp://10.0.0.5:2375"), { kind: "tcp", host: "10.0.0.5", port: 2375 });
    assert.deepEqual(parseEngineUrl("tcp://engine"), { kind: "tcp", host: "engine", port: 2375 });
    assert.deepEqual(parseEngineUrl("ssh://core@node7:2222/run/user/1000/podman/podman.sock"), {
      kind: "ssh",
      user: "core",
      host: "node7",
      port: 2222,
      socketPath: "/run/user/1000/podman/podman.sock",
    });
    assert.deepEqual(parseEngineUrl("ssh://node7"), { kind: "ssh", user: null, host: "node7", port: 22, socketPath: null });
    assert.equal(formatEngineAddress(parseEngineUrl("ssh://core@node7/run/p.sock")), "ssh://core@node7:22/run/p.sock");
  });

  test("malformed URLs are refused with the forms tmax takes", () => {
    assert.throws(() => parseEngineUrl("npipe:////./pipe/docker"), /unsupported scheme npipe:/);
    assert.throws(() => parseEngineUrl("unix://relative.sock"), /absolute path/);
    assert.throws(() => parseEngineUrl("tcp://host:99999"), /not a TCP port|not an engine URL/);
    assert.throws(() => parseEngineUrl("nonsense"), /not an engine URL/);
  });
});

describe("LeastInFlight", () => {
  test("the member with the fewest in flight, ties to the first; benched members get nothing until the bench ends", () => {
    let now = 1000;
    const pool = new LeastInFlight(["a", "b"], () => now);
    const first = pool.acquire()!;
    assert.equal(first.member, "a");
    assert.equal(pool.acquire()!.member, "b");
    assert.equal(pool.acquire()!.member, "a", "a tie goes to the first");
    first.release();
    first.release(); // idempotent
    assert.equal(pool.inFlight("a"), 1);
    pool.bench("b", 500);
    assert.equal(pool.acquire()!.member, "a", "b is benched though it has fewer in flight");
    pool.bench("a", 100);
    assert.equal(pool.acquire(), null);
    assert.equal(pool.nextAvailableIn(), 100);
    now += 100;
    assert.equal(pool.acquire()!.member, "a");
  });
});

test("connection errors are told apart from the engine's answers", () => {
  assert.equal(isConnectionError(refused()), true);
  assert.equal(isConnectionError(Object.assign(new Error("connect ENOENT /x.sock"), { code: "ENOENT" })), true);
  assert.equal(isConnectionError(new Error("socket hang up")), true);
  assert.equal(isConnectionError(new Error("x", { cause: Object.assign(new Error("write EPIPE"), { code: "EPIPE" }) })), true);
  assert.equal(isConnectionError(Object.assign(new Error("(HTTP code 500) server error - no such image"), { statusCode: 500 })), false);
  assert.equal(isConnectionError(new Error("image build failed")), false);
});

test("owner labels round-trip", () => {
  const owner = { host: "h-1.example", process: { pid: 4242, startTicks: 123 } };
  assert.deepEqual(parseOwnerLabel(ownerLabelValue(owner)), owner);
  assert.deepEqual(parseOwnerLabel("h/7/"), { host: "h", process: { pid: 7, startTicks: null } });
  assert.equal(parseOwnerLabel("garbage"), null);
  assert.equal(parseOwnerLabel(undefined), null);
});

test("--engine URLs and the per-engine caps are kept in the job config and read back", () => {
  const config = buildJobConfig(runOptions({ engines: ["unix:///a.sock", "tcp://h:2375"], engineMaxStarts: 8 }));
  assert.deepEqual(config.environment.kwargs, { engines: ["unix:///a.sock", "tcp://h:2375"], engine_max_starts: 8 });
  assert.deepEqual(configuredEngines(config), { urls: ["unix:///a.sock", "tcp://h:2375"], maxStarts: 8, maxExecs: null });
  assert.deepEqual(buildJobConfig(runOptions()).environment.kwargs, {}, "no --engine: the config is as before");
});

/** A fake engine that can die: then every call on it (and every start) fails as an unreachable socket does. */
function mortalEngine(): { provider: EnvironmentProvider; starts: number; dead: boolean; startsNow: number; peakStarts: number } {
  const base = fakeProvider();
  const engine = {
    starts: 0,
    dead: false,
    startsNow: 0,
    peakStarts: 0,
    provider: {
      ...base,
      createEnvironment: (spec: EnvironmentSpec): Environment => {
        const env = base.createEnvironment(spec);
        const alive = <T>(f: () => Promise<T>): Promise<T> => (engine.dead ? Promise.reject(refused()) : f());
        return {
          ...env,
          start: async () => {
            engine.startsNow++;
            engine.peakStarts = Math.max(engine.peakStarts, engine.startsNow);
            try {
              await sleep(5);
              await alive(() => env.start());
              engine.starts++;
            } finally {
              engine.startsNow--;
            }
          },
          exec: (command, opts) => alive(() => env.exec(command, opts)),
          stop: (opts) => alive(() => env.stop(opts)),
        };
      },
    },
  };
  return engine;
}

/** An agent that runs a command in its sandbox for a while (so an engine can die under it). */
function busyAgent(onRun: () => void): Agent {
  return {
    name: "busy",
    version: "1",
    modelInfo: null,
    setup: () => Promise.resolve(),
    run: async (_instruction, env) => {
      onRun();
      await sleep(10);
      await env.exec("solve");
    },
  };
}

describe("EnginePool under runJob (fake engines)", () => {
  test("trials are spread over both engines; one dying mid-job loses no result and scores no failure", async () => {
    const ds = tempDir("tmax-ds-");
    for (let i = 0; i < 8; i++) writeTask(ds, `t${i}`);
    const tasks = await discoverTasks(ds);
    const jobDir = join(tempDir("tmax-jobs-"), "j");
    const a = mortalEngine();
    const b = mortalEngine();
    const lines: string[] = [];
    const pool = new EnginePool(
      [
        { provider: a.provider, label: "unix:///a.sock" },
        { provider: b.provider, label: "unix:///b.sock" },
      ],
      { startsPerEngine: 1, execsPerEngine: 4, benchMs: 60_000 },
      (l) => lines.push(l),
    );
    let runs = 0;
    const outcome = await runJob({
      jobDir,
      config: buildJobConfig(runOptions({ path: ds, nConcurrent: 4, maxRetries: 0 })),
      tasks: tasks.tasks,
      source: tasks.source,
      provider: pool,
      // b dies while the third agent runs: trials on it then are lost and must run again on a.
      makeAgent: () => busyAgent(() => (++runs === 3 ? (b.dead = true) : undefined)),
      signal: new AbortController().signal,
      invocation: ["tmax", "test"],
    });
    assert.equal(outcome.cancelled, false);
    assert.equal(outcome.records.length, 8, "every task has its result");
    assert.ok(
      outcome.records.every((r) => r.exceptionType === null && r.rewards?.reward === 1),
      JSON.stringify(outcome.records.map((r) => r.exceptionType)),
    );
    assert.ok(b.starts >= 1, "trials landed on b before it died");
    assert.ok(a.starts >= 1);
    const result = jobResultSchema.parse(JSON.parse(readFileSync(join(jobDir, "result.json"), "utf8")));
    assert.ok(result.stats.n_retries >= 1, "the lost trials count as retries");
    assert.equal(result.stats.n_errored_trials, 0);
    assert.ok(lines.some((l) => /unix:\/\/\/b\.sock stopped answering/.test(l)), lines.join("\n"));
    const jobLog = readFileSync(join(jobDir, "job.log"), "utf8");
    assert.match(jobLog, /lost its container engine; running it again/);
    assert.ok(a.peakStarts <= 1 && b.peakStarts <= 1, "at most one start at a time per engine");
  });

  test("a start on an unreachable engine is tried on another; with every engine gone the trial says so", async () => {
    const ds = tempDir("tmax-ds-");
    writeTask(ds, "only");
    const tasks = await discoverTasks(ds);
    const dead = mortalEngine();
    dead.dead = true;
    const alive = mortalEngine();
    const pool = new EnginePool([
      { provider: dead.provider, label: "dead" },
      { provider: alive.provider, label: "alive" },
    ]);
    const ok = await runJob({
      jobDir: join(tempDir("tmax-jobs-"), "j"),
      config: buildJobConfig(runOptions({ path: ds, maxRetries: 0 })),
      tasks: tasks.tasks,
      source: tasks.source,
      provider: pool,
      makeAgent: () => busyAgent(() => undefined),
      signal: new AbortController().signal,
      invocation: ["tmax", "test"],
    });
    assert.equal(ok.records[0]?.exceptionType, null);
    assert.equal(alive.starts, 1);

    alive.dead = true;
    const env = new EnginePool([{ provider: alive.provider, label: "alive" }], { startsPerEngine: 1, execsPerEngine: 1, benchMs: 1 }).createEnvironment({
      displayName: "x",
      image: { kind: "image", name: "x" },
      resources: { cpus: null, memoryMb: null, storageMb: null, gpus: null },
      network: { mode: "open" },
      workdir: null,
      env: {},
      labels: {},
      trialName: "x__1",
      logs: { agent: tempDir("a-"), verifier: tempDir("v-"), artifacts: tempDir("r-") },
    });
    await assert.rejects(env.start(), (err: Error) => err.name === ENGINE_UNAVAILABLE);
  });

  test("an allowlist trial goes only to an engine on this host; with none local it is refused, naming the engines", async () => {
    const started: string[] = [];
    const engine = (label: string, local: boolean): { provider: EnvironmentProvider; label: string } => {
      const base = fakeProvider();
      return {
        label,
        provider: {
          ...base,
          localEngine: local,
          createEnvironment: (spec) => ({ ...base.createEnvironment(spec), start: () => (started.push(label), Promise.resolve()) }),
        },
      };
    };
    const spec = (network: EnvironmentSpec["network"]): EnvironmentSpec => ({
      displayName: "net-task",
      image: { kind: "image", name: "x" },
      resources: { cpus: null, memoryMb: null, storageMb: null, gpus: null },
      network,
      workdir: null,
      env: {},
      labels: {},
      trialName: "net-task__1",
      logs: { agent: tempDir("a-"), verifier: tempDir("v-"), artifacts: tempDir("r-") },
    });
    const mixed = new EnginePool([engine("ssh://remote:22", false), engine("unix:///local.sock", true)]);
    assert.equal(mixed.localEngine, true);
    const envs = [0, 1, 2].map(() => mixed.createEnvironment(spec({ mode: "allowlist", hosts: [] })));
    for (const e of envs) await e.start();
    assert.deepEqual(started, ["unix:///local.sock", "unix:///local.sock", "unix:///local.sock"], "though the remote engine had fewer in flight");
    await mixed.createEnvironment(spec({ mode: "open" })).start();
    assert.equal(started.at(-1), "ssh://remote:22", "other trials still go to the least loaded engine");

    const remote = new EnginePool([engine("ssh://a:22", false), engine("tcp://b:2375", false)]);
    assert.equal(remote.localEngine, false);
    await assert.rejects(
      remote.createEnvironment(spec({ mode: "allowlist", hosts: [] })).start(),
      /net-task: network_mode = "allowlist" needs a container engine on this host.*\(ssh:\/\/a:22, tcp:\/\/b:2375\)/,
    );
    assert.equal(started.length, 4, "nothing started on a remote engine");
  });
});

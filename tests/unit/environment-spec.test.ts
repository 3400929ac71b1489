import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { NopAgent } from "../../src/agent/nop.js";
import { containerStartError, ResourceLimitError } from "../../src/environment/engine-errors.js";
import type { EnvironmentProvider } from "../../src/environment/environment.js";
import { buildJobConfig, buildTrialConfig } from "../../src/job/config.js";
import { runJob } from "../../src/job/job.js";
import { environmentSpecFor, imageSourceFor, inTaskTerms } from "../../src/trial/environment-spec.js";
import { runTrial } from "../../src/trial/trial.js";
import { loadTask } from "../../src/task/task.js";
import { fakeProvider } from "../helpers/fake-provider.js";
import { runOptions } from "../helpers/run-options.js";
import { tempDir, writeTask } from "../helpers/task-fixture.js";

const logs = { agent: "/t/agent", verifier: "/t/verifier", artifacts: "/t/artifacts" };

async function taskWith(toml: string, opts: { dockerfile?: string | null } = {}) {
  return loadTask(writeTask(tempDir(), "spec-task", { toml, ...opts }));
}

describe("task.toml → EnvironmentSpec", () => {
  test("a TB2-era task: its defaults (1 CPU, 2 GB, 10 GB), open network, built from environment/", async () => {
    const task = await taskWith('version = "1.0"\n');
    const spec = environmentSpecFor(task, { trialName: "spec-task__abc", jobId: "job-1", logs, hostCpus: 8 });
    assert.deepEqual(spec, {
      displayName: "spec-task",
      image: { kind: "build", context: join(task.dir, "environment") },
      resources: { cpus: 1, memoryMb: 2048, storageMb: 10240, gpus: null },
      network: { mode: "open" },
      workdir: null,
      env: {},
      labels: { "tmax.task": "spec-task" },
      trialName: "spec-task__abc",
      jobId: "job-1",
      logs,
    });
  });

  test("a current-schema task: its resources, workdir, no network, env with ${VAR} templates resolved", async () => {
    const task = await taskWith(
      'schema_version = "1.1"\n[environment]\ncpus = 2\nmemory = "512M"\nstorage_mb = 4096\ngpus = 0\nallow_internet = false\n' +
        'workdir = "/srv"\nenv = { A = "plain", B = "${TMAX_SPEC_HOST}", C = "${TMAX_SPEC_UNSET:-fallback}" }\n',
    );
    const spec = environmentSpecFor(task, { trialName: "t", logs, hostEnv: { TMAX_SPEC_HOST: "from-host" }, hostCpus: 8 });
    assert.deepEqual(spec.resources, { cpus: 2, memoryMb: 512, storageMb: 4096, gpus: 0 });
    assert.deepEqual(spec.network, { mode: "none" });
    assert.equal(spec.workdir, "/srv");
    assert.deepEqual(spec.env, { A: "plain", B: "from-host", C: "fallback" });
    assert.equal("jobId" in spec, false);
  });

  test("current-schema defaults are no limits", async () => {
    const spec = environmentSpecFor(await taskWith('schema_version = "1.1"\n'), { trialName: "t", logs });
    assert.deepEqual(spec.resources, { cpus: null, memoryMb: null, storageMb: null, gpus: null });
  });

  test("an unset ${VAR} without default is an error naming it", async () => {
    const task = await taskWith('schema_version = "1.1"\n[environment]\nenv = { K = "${TMAX_SPEC_MISSING}" }\n');
    assert.throws(() => environmentSpecFor(task, { trialName: "t", logs, hostEnv: {} }), /TMAX_SPEC_MISSING is not set/);
  });

  test("docker_image with a Dockerfile: the image, environment/ as fallback and --force-build target", async () => {
    const task = await taskWith('schema_version = "1.1"\n[environment]\ndocker_image = "example/img:1"\n');
    assert.deepEqual(imageSourceFor(task), { kind: "image", name: "example/img:1", fallbackContext: task.environmentDir });
    assert.deepEqual(environmentSpecFor(task, { trialName: "t", logs }).image, imageSourceFor(task));
  });

  test("docker_image without a Dockerfile: environment/'s files are copied into the workdir", async () => {
    const task = await taskWith('version = "1.0"\n[environment]\ndocker_image = "example/img:1"\n', { dockerfile: null });
    assert.deepEqual(imageSourceFor(task), { kind: "image", name: "example/img:1", files: task.environmentDir });
  });

  test("trial overrides win; the trial's env goes on top of the task's; CPUs are capped at the host's count with a note", async () => {
    const task = await taskWith('schema_version = "1.1"\n[environment]\ncpus = 2\nmemory_mb = 1024\nstorage_mb = 2048\nenv = { A = "task", B = "task" }\n');
    const lines: string[] = [];
    const spec = environmentSpecFor(task, {
      trialName: "t",
      logs,
      overrides: { cpus: 16, memoryMb: 4096, storageMb: null },
      env: { B: "trial" },
      log: (l) => lines.push(l),
      hostCpus: 4,
    });
    assert.deepEqual(spec.resources, { cpus: 4, memoryMb: 4096, storageMb: 2048, gpus: null });
    assert.deepEqual(spec.env, { A: "task", B: "trial" });
    assert.deepEqual(lines, ["task asks for 16 CPUs; this host has 4, limit set to 4"]);
    assert.equal(typeof spec.log, "function");

    const quiet: string[] = [];
    const within = environmentSpecFor(task, { trialName: "t", logs, log: (l) => quiet.push(l), hostCpus: 4 });
    assert.equal(within.resources.cpus, 2);
    assert.deepEqual(quiet, []);
  });
});

/** What dockerode rejects with when podman's runc cannot set a memory limit (as seen with memory_mb = 1). */
function runcRefusal(): Error {
  const message =
    "runc: runc create failed: unable to start container process: error during container init: error setting cgroup config for procHooks process: unable to set memory limit to 1048576 (current usage: 2609152, peak usage: 3002368): OCI runtime error";
  return Object.assign(new Error(`(HTTP code 500) server error - ${message} `), { statusCode: 500, json: { cause: "OCI runtime error", message, response: 500 } });
}

describe("a limit the engine refuses is reported where its value was set", () => {
  const resources = { cpus: 2, memoryMb: 1, storageMb: null, gpus: null };

  test("the environment names the spec's limit and keeps the engine's words and error", () => {
    const engine = runcRefusal();
    const err = containerStartError(engine, "spec-task", "start", resources);
    assert.ok(err instanceof ResourceLimitError);
    assert.equal(err.resource, "memoryMb");
    assert.match(err.message, /^spec-task: resources\.memoryMb = 1: the container engine refused it: runc: runc create failed: .*unable to set memory limit to 1048576/);
    assert.equal(err.cause, engine);
    const cpu = containerStartError(new Error("(HTTP code 400) bad parameter - range of CPUs is from 0.01 to 2.00 "), "x", "create", resources);
    assert.equal((cpu as ResourceLimitError).resource, "cpus");
    const other = containerStartError(new Error("(HTTP code 404) no such container - image not known "), "x", "create", resources);
    assert.equal(other.message, "x: the container engine could not create the container: image not known");
    assert.ok(!(other instanceof ResourceLimitError));
  });

  test("a trial restates it as the task.toml field or the --override option", async () => {
    const task = await taskWith('schema_version = "1.1"\n[environment]\nmemory_mb = 512\ncpus = 1\n');
    const refused = (value: number) => containerStartError(runcRefusal(), task.name, "start", { ...resources, memoryMb: value });
    const fromToml = inTaskTerms(refused(512), task) as ResourceLimitError;
    assert.match(fromToml.message, /^\[environment\]\.memory_mb = 512 in spec-task\/task\.toml: the container engine refused it: runc: /);
    assert.ok(fromToml.cause instanceof ResourceLimitError, "the environment's error is the cause");
    assert.match((inTaskTerms(refused(1), task, { memoryMb: 1 }) as Error).message, /^--override-memory-mb 1: the container engine refused it: /);
    const other = new Error("something else");
    assert.equal(inTaskTerms(other, task), other);
  });

  test("runTrial records the restated error as the trial's exception", async () => {
    const task = await taskWith('schema_version = "1.1"\n');
    const base = fakeProvider();
    const provider: EnvironmentProvider = {
      ...base,
      createEnvironment: (spec) => ({
        ...base.createEnvironment(spec),
        start: () => Promise.reject(containerStartError(runcRefusal(), spec.displayName, "start", spec.resources)),
      }),
    };
    const jobDir = tempDir("tmax-jobs-");
    const job = buildJobConfig(runOptions({ path: task.dir, singleTask: true, overrideMemoryMb: 1, jobsDir: jobDir }));
    const config = buildTrialConfig(job, task, "spec-task__x", "job", null);
    const result = await runTrial({ task, config, source: null, dir: join(jobDir, config.trial_name) }, { provider, agent: new NopAgent() });
    assert.equal(result.exception_info?.exception_type, "ResourceLimitError");
    assert.match(result.exception_info.exception_message, /^--override-memory-mb 1: the container engine refused it: runc: .*unable to set memory limit/);
  });

  test("a refused limit is not retried at job level, even with -r", async () => {
    const task = await taskWith('schema_version = "1.1"\n[environment]\nmemory_mb = 7\n');
    const base = fakeProvider();
    let starts = 0;
    const provider: EnvironmentProvider = {
      ...base,
      createEnvironment: (spec) => ({
        ...base.createEnvironment(spec),
        start: () => {
          starts++;
          return Promise.reject(containerStartError(runcRefusal(), spec.displayName, "start", spec.resources));
        },
      }),
    };
    const job = buildJobConfig(runOptions({ path: task.dir, singleTask: true, maxRetries: 2, jobsDir: tempDir("tmax-jobs-") }));
    const config = { ...job, retry: { ...job.retry, min_wait_sec: 0, wait_multiplier: 0, max_wait_sec: 0 } };
    const outcome = await runJob({
      jobDir: join(config.jobs_dir, config.job_name),
      config,
      tasks: [task],
      source: null,
      provider,
      makeAgent: () => new NopAgent(),
      signal: new AbortController().signal,
      invocation: ["tmax", "test"],
    });
    assert.equal(starts, 1);
    assert.equal(outcome.records.length, 1);
    assert.equal(outcome.result.stats.n_retries, 0);
  });
});

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseTaskToml } from "../../src/task/config.js";
import type { ResourceOverrides } from "../../src/task/config-types.js";
import { taskVerdict } from "../../src/task/problems.js";
import { parseSizeToMb } from "../../src/task/sizes.js";
import { stripCanary } from "../../src/task/canary.js";
import { resolveHostTemplate } from "../../src/task/templating.js";

function ok(text: string) {
  const r = parseTaskToml(text);
  assert.ok(r.config, `expected a config, got problems: ${JSON.stringify(r.problems)}`);
  return r.config;
}

describe("task.toml, TB2-era schema", () => {
  test("version key selects TB2 defaults: 600 s agent timeout, 1 CPU, 2048 MB, 10240 MB storage", () => {
    const c = ok('version = "1.0"\n');
    assert.equal(c.generation, "tb2");
    assert.equal(c.schemaVersion, "1.0");
    assert.equal(c.agent.timeoutSec, 600);
    assert.equal(c.verifier.timeoutSec, 600);
    assert.equal(c.environment.buildTimeoutSec, 600);
    assert.equal(c.environment.cpus, 1);
    assert.equal(c.environment.memoryMb, 2048);
    assert.equal(c.environment.storageMb, 10240);
    assert.equal(c.environment.allowInternet, true);
  });

  test("a full TB2 task.toml with string sizes, floats and metadata", () => {
    const c = ok(`version = "1.0"
[metadata]
author_name = "A"
difficulty = "hard"
tags = ["git", "c"]
expert_time_estimate_min = 30.0
custom_thing = { nested = 1 }
[verifier]
timeout_sec = 900.0
[agent]
timeout_sec = 1800.0
[environment]
build_timeout_sec = 1200.0
docker_image = "alexgshaw/fix-git:20251031"
cpus = 2
memory = "4G"
storage = "10G"
`);
    assert.equal(c.agent.timeoutSec, 1800);
    assert.equal(c.verifier.timeoutSec, 900);
    assert.equal(c.environment.buildTimeoutSec, 1200);
    assert.equal(c.environment.dockerImage, "alexgshaw/fix-git:20251031");
    assert.equal(c.environment.cpus, 2);
    assert.equal(c.environment.memoryMb, 4096);
    assert.equal(c.environment.storageMb, 10240);
    assert.deepEqual(c.metadata.tags, ["git", "c"]);
    assert.deepEqual({ ...(c.metadata.custom_thing as object) }, { nested: 1 }, "unknown metadata is kept as is");
  });
});

describe("the generation, and so the defaults, follow the schema's fields, not the version key alone", () => {
  test("version with TB2-era fields only: TB2 defaults", () => {
    const c = ok('version = "1.0"\n[environment]\nmemory = "4G"\nallow_internet = false\n[verifier]\ntimeout_sec = 60\n');
    assert.equal(c.generation, "tb2");
    assert.deepEqual([c.agent.timeoutSec, c.environment.cpus, c.environment.memoryMb, c.environment.storageMb], [600, 1, 4096, 10240]);
  });

  for (const [what, extra] of [
    ["memory_mb", "[environment]\nmemory_mb = 4096\n"],
    ["a [task] table", '[task]\nname = "org/t"\n'],
    ["network_mode", '[environment]\nnetwork_mode = "no-network"\n'],
    ["[agent].user", '[agent]\nuser = "u"\n'],
    ["[[steps]]", '[[steps]]\nname = "s"\n'],
  ] as const) {
    test(`version beside ${what}: a current-schema file, current defaults`, () => {
      const c = ok(`version = "1.0"\n${extra}`);
      assert.equal(c.generation, "current");
      assert.equal(c.agent.timeoutSec, null);
      assert.equal(c.environment.cpus, null);
    });
  }

  test("keys no Harbor version knows do not count", () => {
    assert.equal(ok('version = "1.0"\n[environment]\nfancy = 1\n[extras]\na = 1\n').generation, "tb2");
  });
});

describe("Harbor's coercions: what pydantic accepts, tmax reads to the same values", () => {
  test('cpus = "2", timeout_sec = "600", allow_internet = "false", os = "Linux", memory_mb = "2048.0"', () => {
    const c = ok('schema_version = "1.1"\n[agent]\ntimeout_sec = "600"\n[verifier]\ntimeout_sec = " 30 "\n[environment]\ncpus = "2"\nallow_internet = "false"\nos = "Linux"\nmemory_mb = "2048.0"\n');
    assert.deepEqual(
      [c.agent.timeoutSec, c.verifier.timeoutSec, c.environment.cpus, c.environment.network, c.environment.os, c.environment.memoryMb],
      [600, 30, 2, { mode: "no-network" }, "linux", 2048],
    );
  });

  test("fractional CPUs are kept (the engine takes them); a uid may be written as a float; min_reward as text", () => {
    const c = ok('[environment]\ncpus = 0.5\n[agent]\nuser = 1000.0\n[[steps]]\nname = "a"\nmin_reward = "0.5"\n');
    assert.equal(c.environment.cpus, 0.5);
    assert.equal(c.agent.user, 1000);
    assert.equal(c.steps?.[0]?.minReward, 0.5);
  });
});

describe("task.toml, current schema", () => {
  test("schema_version with nothing else: no agent timeout, no resource limits", () => {
    const c = ok('schema_version = "1.1"\n');
    assert.equal(c.generation, "current");
    assert.equal(c.agent.timeoutSec, null, "absent agent timeout means none");
    assert.equal(c.environment.cpus, null);
    assert.equal(c.environment.memoryMb, null);
    assert.equal(c.verifier.timeoutSec, 600);
  });

  test("all current keys are read", () => {
    const c = ok(`schema_version = "1.2"
source = "tmax"
artifacts = ["/app/out", { source = "/app/logs", destination = "logs", exclude = ["*.tmp"] }]
[task]
name = "tmax/some-task"
description = "d"
authors = [{ name = "X", email = "x@example.com" }]
keywords = ["k"]
[verifier]
timeout_sec = 120.0
env = { A = "1", TOKEN = "\${HOST_TOKEN:-none}" }
user = "tester"
[agent]
user = 1000
[solution]
env = { S = "2" }
[environment]
cpus = 2
memory_mb = 1024
storage_mb = 4096
allow_internet = false
workdir = "/work"
env = { E = "3" }
gpus = 0
[environment.healthcheck]
command = "test -f /ready"
retries = 5
[unknown_section]
whatever = true
`);
    assert.equal(c.source, "tmax");
    assert.equal(c.task?.name, "tmax/some-task");
    assert.equal(c.task?.authors[0]?.email, "x@example.com");
    assert.equal(c.artifacts.length, 2);
    assert.deepEqual(c.verifier.env, { A: "1", TOKEN: "${HOST_TOKEN:-none}" });
    assert.equal(c.verifier.user, "tester");
    assert.equal(c.agent.user, 1000);
    assert.deepEqual(c.solution.env, { S: "2" });
    assert.equal(c.environment.memoryMb, 1024);
    assert.equal(c.environment.storageMb, 4096);
    assert.equal(c.environment.allowInternet, false);
    assert.equal(c.environment.workdir, "/work");
    assert.equal(c.environment.healthcheck?.retries, 5);
    assert.equal(c.environment.healthcheck?.intervalSec, 5, "healthcheck defaults apply");
  });

  test("an explicit null agent timeout is kept as no timeout; legacy memory string accepted in current schema", () => {
    const c = ok('schema_version = "1.1"\n[environment]\nmemory = "1.5G"\n');
    assert.equal(c.environment.memoryMb, 1536);
  });

  test("equal legacy and modern sizes are accepted", () => {
    const c = ok('schema_version = "1.1"\n[environment]\nmemory = "2G"\nmemory_mb = 2048\n');
    assert.equal(c.environment.memoryMb, 2048);
  });

  test("integers beyond 2^53 (valid TOML, read by Harbor): numeric fields take the nearest number, [metadata] keeps them exact", () => {
    const c = ok(`schema_version = "1.1"
[metadata]
big = 12345678901234567890
nested = { ids = [9007199254740993, 1] }
[agent]
timeout_sec = 9007199254740993
[verifier]
timeout_sec = 12345678901234567890
user = 9223372036854775807
[environment]
cpus = 9007199254740993
`);
    assert.equal(c.agent.timeoutSec, 9007199254740992);
    assert.equal(c.verifier.timeoutSec, Number(12345678901234567890n));
    assert.equal(c.verifier.user, 2 ** 63);
    assert.equal(c.environment.cpus, 9007199254740992);
    assert.equal(c.metadata.big, 12345678901234567890n);
    assert.deepEqual({ ...(c.metadata.nested as object) }, { ids: [9007199254740993n, 1] });
  });
});

describe("task.toml errors name the field", () => {
  const problems = (text: string) => {
    const r = parseTaskToml(text, "t/task.toml");
    assert.equal(r.config, null);
    return r.problems;
  };

  test("bad size string", () => {
    const [p] = problems('version = "1.0"\n[environment]\nmemory = "2X"\n');
    assert.equal(p?.file, "t/task.toml");
    assert.equal(p?.field, "[environment].memory");
    assert.match(p.message, /"2X" is not a size/);
  });

  test("conflicting memory and memory_mb", () => {
    const [p] = problems('schema_version = "1.1"\n[environment]\nmemory = "2G"\nmemory_mb = 1024\n');
    assert.equal(p?.field, "[environment].memory_mb");
    assert.match(p.message, /conflicts/);
  });

  test("wrong types report the value, and every problem is listed", () => {
    const ps = problems('version = "1.0"\n[environment]\ncpus = "two"\nmemory = "lots"\n[agent]\ntimeout_sec = "soon"\n');
    const fields = ps.map((p) => p.field).sort();
    assert.deepEqual(fields, ["[agent].timeout_sec", "[environment].cpus", "[environment].memory"]);
    assert.deepEqual(problems('schema_version = "1.1"\n[environment]\ncpus = "2"\n'.replace('"2"', '"2.5x"')).map((p) => p.field), ["[environment].cpus"]);
    assert.match(ps.find((p) => p.field === "[environment].cpus")!.message, /got "two"/);
  });

  test("an integer beyond 2^53 where a string belongs is reported with its digits", () => {
    const [p] = problems('version = 12345678901234567890\n[metadata]\nids = [12345678901234567890]\n[environment]\nos = [12345678901234567891]\n');
    assert.equal(p?.field, "version");
    assert.match(p.message, /got 12345678901234567890\)/);
    const ps = problems('schema_version = "1.1"\n[environment]\nos = [12345678901234567891]\n');
    assert.match(ps[0]!.message, /got \["12345678901234567891"\]/);
  });

  test("invalid TOML names line and column", () => {
    const [p] = problems('version = "1.0"\n[environment\n');
    assert.equal(p?.field, undefined);
    assert.match(p!.message, /not valid TOML \(line 2/);
  });

  test("bad task name", () => {
    const [p] = problems('schema_version = "1.1"\n[task]\nname = "no-org"\n');
    assert.equal(p?.field, "[task].name");
  });
});

describe("resource limits no container can have: valid for Harbor, not runnable here, naming the field", () => {
  const one = (env: string, host?: { memoryMb: number; cpus: number }) => {
    const r = parseTaskToml(`schema_version = "1.1"\n[environment]\n${env}\n`, "t/task.toml", { host });
    return { config: r.config, problems: r.problems.map((p) => [p.severity, p.field, p.message]) };
  };

  test("memory or storage beyond 1 PiB (99999999999G overflows the engine's 64-bit bytes)", () => {
    const huge = one('memory = "99999999999G"');
    assert.ok(huge.config, "Harbor accepts it");
    assert.deepEqual(huge.problems, [
      ["unrunnable", "[environment].memory", '"99999999999G" (102399999998976 MB) is more than 1 PiB (1073741824 MB): no host can provide it'],
    ]);
    assert.deepEqual(one("memory_mb = 9007199254740991").problems, [
      ["unrunnable", "[environment].memory_mb", "9007199254740991 MB is more than 1 PiB (1073741824 MB): no host can provide it"],
    ]);
    assert.equal(one("storage_mb = 1073741825").problems[0]![1], "[environment].storage_mb");
    assert.deepEqual(one("memory_mb = 1073741824\nstorage_mb = 1073741824").problems, [], "1 PiB itself is accepted");
  });

  test("memory below the 6 MB a container starts with; sizes that round to 0 MB; negative sizes and CPUs", () => {
    assert.deepEqual(one("memory_mb = 1").problems, [["unrunnable", "[environment].memory_mb", "1 MB is below the 6 MB a container needs to start"]]);
    assert.deepEqual(one('memory = "512K"').problems, [["unrunnable", "[environment].memory", '"512K" (0 MB) is below the 6 MB a container needs to start']]);
    assert.deepEqual(one('storage = "0.1M"').problems, [["unrunnable", "[environment].storage", '"0.1M" (0 MB) is less than 1 MB']]);
    assert.deepEqual(one('memory = "-1G"').problems, [["unrunnable", "[environment].memory", '"-1G" (-1024 MB) is below the 6 MB a container needs to start']]);
    assert.deepEqual(one("cpus = 0").problems, [["unrunnable", "[environment].cpus", "0 is not a CPU count a container can have (must be > 0)"]]);
    assert.deepEqual(one("memory_mb = 6\ncpus = 0.5").problems, [], "6 MB and half a CPU are fine");
  });

  test("non-finite numbers are shown as written (inf, nan), not as null", () => {
    assert.deepEqual(one("cpus = inf").problems, [["error", "[environment].cpus", "must be a finite number (got inf)"]]);
    assert.deepEqual(one("memory_mb = nan").problems, [["error", "[environment].memory_mb", "must be an integer (got nan)"]]);
  });

  test("every problem is listed at once: bad values of several fields and bad size strings", () => {
    const fields = one('cpus = "two"\nmemory = "lots"\nstorage_mb = "x"').problems.map((p) => p[1]);
    assert.deepEqual(fields.sort(), ["[environment].cpus", "[environment].memory", "[environment].storage_mb"]);
  });

  test("beyond this host (when given): warnings, and the task still loads", () => {
    const host = { memoryMb: 1024, cpus: 2 };
    const r = one('memory = "4G"\ncpus = 4', host);
    assert.equal(r.config?.environment.memoryMb, 4096);
    assert.deepEqual(r.problems, [
      ["warning", "[environment].cpus", "4 is more than this host's 2 CPUs: runs here are limited to 2"],
      ["warning", "[environment].memory", '"4G" (4096 MB) is more than this host\'s 1024 MB of RAM: the task may run out of memory here'],
    ]);
    assert.deepEqual(one("memory_mb = 1024\ncpus = 2", host).problems, [], "what the host has is fine");
    assert.deepEqual(one('memory = "4G"\ncpus = 4').problems, [], "no host given, no host warnings");
  });
});

describe("the job's resource overrides (--override-*): a value they replace does not keep the task from running", () => {
  const check = (text: string, overrides?: ResourceOverrides) => {
    const r = parseTaskToml(text, "t/task.toml", { overrides });
    return { runnable: taskVerdict(r.problems).runnable, problems: r.problems.map((p) => [p.severity, p.field, p.message]) };
  };
  const GPU_TASK = 'schema_version = "1.4"\n[environment]\ngpus = 2\ngpu_types = ["H100"]\n';

  test("a GPU task: not runnable without --override-gpus, with the reason and the way out", () => {
    assert.deepEqual(check(GPU_TASK), {
      runnable: false,
      problems: [["unrunnable", "[environment].gpus", "2 GPU(s) (H100): tmax does not give containers GPUs (--override-gpus 0 runs the task without them)"]],
    });
    assert.equal(check(GPU_TASK, { cpus: 2, memoryMb: 4096, storageMb: null, gpus: null }).runnable, false, "other overrides do not lift it");
  });

  test("--override-gpus 0 runs it without GPUs (a warning says so); another count replaces the task's and is asked of the engine", () => {
    assert.deepEqual(check(GPU_TASK, { gpus: 0 }), {
      runnable: true,
      problems: [["warning", "[environment].gpus", "2 GPU(s) (H100) replaced by --override-gpus 0: the task runs without GPUs"]],
    });
    assert.deepEqual(check(GPU_TASK, { gpus: 1 }), { runnable: true, problems: [["warning", "[environment].gpus", "2 GPU(s) (H100) replaced by --override-gpus 1"]] });
    assert.deepEqual(check(GPU_TASK, { gpus: 2 }), { runnable: true, problems: [] }, "the same count: nothing to say");
    assert.deepEqual(check('schema_version = "1.4"\n', { gpus: 1 }), { runnable: true, problems: [] }, "a task without GPUs is not touched");
  });

  test("a separate verifier's GPUs are replaced too (the overrides apply to every container of the trial)", () => {
    const text = 'schema_version = "1.4"\n[verifier.environment]\ngpus = 1\n';
    assert.deepEqual(check(text).problems.map((p) => p[1]), ["[verifier.environment].gpus"]);
    assert.equal(check(text, { gpus: 0 }).runnable, true);
  });

  test("CPUs, memory and storage no container can have are not checked when an override replaces them", () => {
    const text = 'schema_version = "1.4"\n[environment]\ncpus = 0\nmemory_mb = 1\nstorage_mb = 0\n';
    assert.deepEqual(check(text).problems.map((p) => p[1]), ["[environment].cpus", "[environment].memory_mb", "[environment].storage_mb"]);
    assert.deepEqual(check(text, { cpus: 1, memoryMb: 512 }).problems.map((p) => p[1]), ["[environment].storage_mb"]);
    assert.equal(check(text, { cpus: 1, memoryMb: 512, storageMb: 1024 }).runnable, true);
  });

  test("a host warning is about the value that runs: the override's, not the task's", () => {
    const r = parseTaskToml('schema_version = "1.4"\n[environment]\ncpus = 64\nmemory_mb = 999999\n', "t/task.toml", { host: { memoryMb: 1024, cpus: 2 }, overrides: { cpus: 1, memoryMb: 512 } });
    assert.deepEqual(r.problems, []);
  });
});

test("size strings follow Harbor's rounding", () => {
  assert.equal(parseSizeToMb("2G"), 2048);
  assert.equal(parseSizeToMb("2g"), 2048);
  assert.equal(parseSizeToMb("1.5G"), 1536);
  assert.equal(parseSizeToMb("0.3G"), 307);
  assert.equal(parseSizeToMb("512M"), 512);
  assert.equal(parseSizeToMb("512.9M"), 512);
  assert.equal(parseSizeToMb("4096K"), 4);
  assert.equal(parseSizeToMb("1000k"), 0);
  assert.equal(parseSizeToMb(" 2 g "), 2048, "trimmed, as Harbor trims");
  assert.equal(parseSizeToMb("1e3M"), 1000, "the number is read with Python's float()");
  assert.equal(parseSizeToMb("-1G"), -1024, "Harbor reads a negative size (no container can have it: runnable.ts)");
  for (const bad of ["2", "2GB", "2Gi", "G", "two", "nanG", "1e400G"]) assert.throws(() => parseSizeToMb(bad), /not a size/, bad);
});

describe("canary stripping", () => {
  test("leading HTML and # canary comments and the blank lines after them go", () => {
    const text = "<!-- BENCHMARK DATA. terminal-bench-canary GUID abc -->\n# another CANARY line\n\n\nDo the thing.\n\nMore.";
    assert.equal(stripCanary(text), "Do the thing.\n\nMore.");
  });
  test("text without a canary is unchanged, including a leading heading", () => {
    assert.equal(stripCanary("# Title\n\nBody"), "# Title\n\nBody");
    assert.equal(stripCanary("\n<!-- canary -->\nBody"), "\n<!-- canary -->\nBody", "only leading lines count");
  });
  test("a canary mention later in the text stays", () => {
    assert.equal(stripCanary("<!-- canary x -->\nUse the canary file.\n"), "Use the canary file.\n");
  });
});

test("host templating in env values", () => {
  const env = { HOME_DIR: "/h", EMPTY: "" };
  assert.equal(resolveHostTemplate("${HOME_DIR}/x", env), "/h/x");
  assert.equal(resolveHostTemplate("${MISSING:-fallback}", env), "fallback");
  assert.equal(resolveHostTemplate("${EMPTY:-fb}", env), "fb");
  assert.equal(resolveHostTemplate("plain $HOME_DIR", env), "plain $HOME_DIR");
  assert.throws(() => resolveHostTemplate("${MISSING}", env), /MISSING is not set/);
});

import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import type { JobResult } from "../../src/job/schema.js";
import type { TrialResult } from "../../src/harbor/trial-schema.js";
import { runCli, type CliResult } from "../helpers/cli.js";
import { tempDir, writeTask } from "../helpers/task-fixture.js";

const reward = (cmd: string): string => `#!/bin/bash\n${cmd}\n`;

describe("trial lifecycle and Harbor's exception types", () => {
  let jobDir: string;
  let run: CliResult;
  const byTask = new Map<string, TrialResult[]>();
  let job: JobResult;

  before(async () => {
    const ds = tempDir("tmax-ds-");
    writeTask(ds, "verifier-timeout", {
      toml: 'schema_version = "1.1"\n[verifier]\ntimeout_sec = 2\n',
      testSh: reward("sleep 60; echo 1 > /logs/verifier/reward.txt"),
    });
    writeTask(ds, "no-reward", { testSh: reward("echo 'tests ran but wrote nothing'") });
    writeTask(ds, "empty-reward", { testSh: reward(": > /logs/verifier/reward.txt") });
    writeTask(ds, "bad-reward-json", { testSh: reward("echo '{oops' > /logs/verifier/reward.json") });
    writeTask(ds, "build-fails", { dockerfile: "FROM debian:bookworm-slim\nRUN echo 'deliberate failure' && exit 3\n" });
    writeTask(ds, "missing-base", { dockerfile: "FROM registry.invalid/no-such-image:1\n" });
    writeTask(ds, "prebuilt-image", {
      toml: 'schema_version = "1.1"\n[environment]\ndocker_image = "debian:bookworm-slim"\nworkdir = "/srv"\n',
      dockerfile: null,
      files: { "environment/data.txt": "payload\n" },
      solveSh: "#!/bin/bash\ncp /srv/data.txt /srv/copy.txt\n",
      testSh: reward('[ "$(cat /srv/copy.txt)" = payload ] && echo 1 > /logs/verifier/reward.txt || echo 0 > /logs/verifier/reward.txt'),
    });
    writeTask(ds, "tests-hidden", {
      solveSh: "#!/bin/bash\n[ -e /tests ] && touch /app/saw-tests\necho out > /app/out.txt\ntouch /app/done\n",
      testSh: reward("[ -f /app/done ] && [ ! -e /app/saw-tests ] && echo 1 > /logs/verifier/reward.txt || echo 0 > /logs/verifier/reward.txt"),
    });
    writeTask(ds, "verifier-env-user", {
      toml: 'schema_version = "1.1"\n[verifier]\nuser = "nobody"\nenv = { V = "${TMAX_TEST_UNSET_VAR:-dflt}" }\n',
      testSh: reward('[ "$V/$(id -un)/$W" = "dflt/nobody/cli" ] && echo 1 > /logs/verifier/reward.txt || echo "0" > /logs/verifier/reward.txt'),
    });
    writeTask(ds, "slow-build", {
      toml: 'schema_version = "1.1"\n[environment]\nbuild_timeout_sec = 2\n',
      dockerfile: "FROM debian:bookworm-slim\nRUN sleep 60\n",
    });
    writeTask(ds, "exit-code", { solveSh: "#!/bin/bash\ntouch /app/done\nexit 7\n" });
    run = await runCli(["run", "-p", ds, "-o", tempDir("tmax-jobs-"), "--job-name", "lifecycle", "-n", "4", "-r", "1", "--artifact", "/app/out.txt", "--ve", "W=cli", "--json"]);
    const out = JSON.parse(run.stdout);
    jobDir = out.job;
    for (const e of readdirSync(jobDir, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      const r = JSON.parse(readFileSync(join(jobDir, e.name, "result.json"), "utf8")) as TrialResult;
      byTask.set(r.task_name, [...(byTask.get(r.task_name) ?? []), r]);
    }
    job = JSON.parse(readFileSync(join(jobDir, "result.json"), "utf8"));
  });

  const only = (task: string): TrialResult => {
    const rs = byTask.get(task);
    assert.equal(rs?.length, 1, `${task}: ${rs?.length} trial dirs`);
    return rs[0]!;
  };

  test("the job completes and exits 0", () => {
    assert.equal(run.code, 0, run.stderr);
  });

  test("VerifierTimeoutError when test.sh overruns its timeout", () => {
    const r = only("verifier-timeout");
    assert.equal(r.exception_info?.exception_type, "VerifierTimeoutError");
    assert.equal(r.verifier_result, null);
  });

  test("RewardFileNotFoundError / RewardFileEmptyError / VerifierOutputParseError", () => {
    assert.equal(only("no-reward").exception_info?.exception_type, "RewardFileNotFoundError");
    assert.equal(only("empty-reward").exception_info?.exception_type, "RewardFileEmptyError");
    assert.equal(only("bad-reward-json").exception_info?.exception_type, "VerifierOutputParseError");
    const stdout = readFileSync(join(jobDir, only("no-reward").trial_name, "verifier", "test-stdout.txt"), "utf8");
    assert.equal(stdout, "tests ran but wrote nothing\n");
  });

  test("an image build failure is recorded, retried once (-r 1), and the retry's dir replaces the first", () => {
    const r = only("build-fails");
    assert.equal(r.exception_info?.exception_type, "ImageBuildError");
    assert.match(r.exception_info.exception_message, /deliberate failure|exit/);
    assert.equal(r.agent_execution, null, "the agent never ran");
    assert.equal(r.verifier, null, "no verification after an environment failure");
    assert.equal(job.stats.n_retries, 3, "build-fails, missing-base and slow-build were each retried once");
  });

  test("EnvironmentStartTimeoutError when the environment does not start within build_timeout_sec", () => {
    const r = only("slow-build");
    assert.equal(r.exception_info?.exception_type, "EnvironmentStartTimeoutError");
    assert.equal(r.agent_execution, null);
  });

  test("a base image that is not available offline is explained", () => {
    const r = only("missing-base");
    assert.equal(r.exception_info?.exception_type, "ImageUnavailableError");
    assert.match(r.exception_info.exception_message, /registry\.invalid\/no-such-image:1.*not available locally/);
  });

  test("docker_image without a Dockerfile: environment/ files are copied into the workdir", () => {
    const r = only("prebuilt-image");
    assert.equal(r.exception_info, null);
    assert.deepEqual(r.verifier_result?.rewards, { reward: 1 });
  });

  test("tests are uploaded only after the agent finishes; artifacts are collected", () => {
    const r = only("tests-hidden");
    assert.deepEqual(r.verifier_result?.rewards, { reward: 1 });
    const dir = join(jobDir, r.trial_name, "artifacts");
    assert.equal(readFileSync(join(dir, "out.txt"), "utf8"), "out\n");
    const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
    assert.deepEqual(manifest, [{ source: "/app/out.txt", destination: "out.txt", type: "file", status: "ok" }]);
    const missing = JSON.parse(readFileSync(join(jobDir, only("no-reward").trial_name, "artifacts", "manifest.json"), "utf8"));
    assert.equal(missing[0].status, "missing");
  });

  test("verifier user, [verifier].env with host templating, and --ve overrides", () => {
    const r = only("verifier-env-user");
    assert.deepEqual(r.verifier_result?.rewards, { reward: 1 }, readFileSync(join(jobDir, r.trial_name, "verifier", "test-stdout.txt"), "utf8"));
  });

  test("a non-zero solve.sh exit is written to agent/exit-code.txt, not raised", () => {
    const r = only("exit-code");
    assert.equal(r.exception_info, null);
    assert.deepEqual(r.verifier_result?.rewards, { reward: 1 });
    assert.equal(readFileSync(join(jobDir, r.trial_name, "agent", "exit-code.txt"), "utf8"), "7\n");
  });

  test("exception.txt holds the traceback of errored trials only", () => {
    assert.ok(existsSync(join(jobDir, only("verifier-timeout").trial_name, "exception.txt")));
    assert.ok(!existsSync(join(jobDir, only("prebuilt-image").trial_name, "exception.txt")));
  });

  test("job statistics count errors by Harbor exception type", () => {
    const ev = Object.values(job.stats.evals)[0]!;
    assert.deepEqual(Object.keys(ev.exception_stats).sort(), [
      "EnvironmentStartTimeoutError",
      "ImageBuildError",
      "ImageUnavailableError",
      "RewardFileEmptyError",
      "RewardFileNotFoundError",
      "VerifierOutputParseError",
      "VerifierTimeoutError",
    ]);
    assert.equal(ev.n_errors, 7);
    assert.equal(ev.n_trials, 4, "four trials produced a reward");
  });
});

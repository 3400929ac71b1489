import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { CLI, REPO, podmanContainers, runCli } from "../helpers/cli.js";
import { tempDir, writeTask } from "../helpers/task-fixture.js";

/**
 * `harbor run`'s flags on real containers: `--agent-import-path` with the README's example agent, one agent per `-m`,
 * `--override-storage-mb` where the engine refuses sizes, `--mounts-json`, `--ek keep_containers`, `--env-file`, the
 * confirmation `-y` skips, and the negated forms.
 */

const HELLO = join(REPO, "examples", "tasks", "hello-world");
const SHELL_AGENT = `${join(REPO, "examples", "agents", "shell-agent.mjs")}:createAgent`;

function json<T>(path: string): T {
  return JSON.parse(readFileSync(path, "utf8")) as T;
}

function trials(jobDir: string): string[] {
  return readdirSync(jobDir).filter((n) => statSync(join(jobDir, n)).isDirectory());
}

const summary = (stdout: string): { n_trials: number; mean: number; errors?: unknown } => JSON.parse(stdout) as { n_trials: number; mean: number };

describe("--agent-import-path: your own agent", () => {
  test("the README's example agent solves hello-world with the commands given as --ak; Harbor's import_path is recorded", async () => {
    const work = tempDir("tmax-own-agent-");
    // Relative to the working directory (the repository), as the README runs it; recorded absolute for --resume.
    const r = await runCli(
      ["run", "-p", HELLO, "--agent-import-path", "examples/agents/shell-agent.mjs:createAgent", "--ak", `commands=["printf 'Hello, tmax!\\\\n' > /app/hello.txt", "cat /app/hello.txt"]`, "-o", join(work, "jobs"), "--job-name", "own", "--json"],
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(summary(r.stdout).mean, 1);
    const jobDir = join(work, "jobs", "own");
    const [trial] = trials(jobDir);
    const result = json<{ agent_info: { name: string; version: string }; agent_result: { metadata: unknown } }>(join(jobDir, trial!, "result.json"));
    assert.deepEqual([result.agent_info.name, result.agent_info.version], ["shell-agent", "1.0.0"]);
    assert.deepEqual(result.agent_result.metadata, { commands: 2 });
    assert.match(readFileSync(join(jobDir, trial!, "agent", "commands.txt"), "utf8"), /\$ cat \/app\/hello\.txt\nHello, tmax!\n\[exit 0\]/);
    const agent = json<{ agents: { name: string | null; import_path: string | null }[] }>(join(jobDir, "config.json")).agents[0]!;
    assert.deepEqual([agent.name, agent.import_path], [null, SHELL_AGENT]);
  });

  test("a module that is not an agent is a usage error naming it", async () => {
    const r = await runCli(["run", "-p", HELLO, "--agent-import-path", `${join(REPO, "examples", "agents", "shell-agent.mjs")}:nothing`, "-o", join(tempDir(), "jobs")]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /shell-agent\.mjs exports no function "nothing" \(it exports createAgent\)/);
  });
});

describe("-m repeated: one agent per model (Harbor's behaviour)", () => {
  test("every task runs with each model; each is its own eval in result.json", async () => {
    const work = tempDir("tmax-models-");
    const r = await runCli(["run", "-p", HELLO, "-a", "nop", "-m", "m-one", "-m", "openai/m-two", "-o", join(work, "jobs"), "--job-name", "mm", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(summary(r.stdout).n_trials, 2);
    const jobDir = join(work, "jobs", "mm");
    assert.deepEqual(json<{ agents: { model_name: string }[] }>(join(jobDir, "config.json")).agents.map((a) => a.model_name), ["m-one", "openai/m-two"]);
    assert.deepEqual(Object.keys(json<{ stats: { evals: object } }>(join(jobDir, "result.json")).stats.evals).sort(), ["nop__m-one__adhoc", "nop__m-two__adhoc"]);
  });
});

describe("environment flags", () => {
  test("--override-storage-mb on an engine whose storage driver has no quotas: a warning, and the trial runs without the limit", async () => {
    const work = tempDir("tmax-storage-");
    const r = await runCli(["run", "-p", HELLO, "--override-storage-mb", "2048", "-o", join(work, "jobs"), "--job-name", "st", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(summary(r.stdout).mean, 1);
    assert.match(r.stderr, /storage limits are not enforced on podman \(the engine refuses them: .*\); --override-storage-mb is recorded only/);
    const [trial] = trials(join(work, "jobs", "st"));
    assert.match(readFileSync(join(work, "jobs", "st", trial!, "trial.log"), "utf8"), /storage limit of 2048 MB not enforced/);
    assert.equal(json<{ environment: { override_storage_mb: number } }>(join(work, "jobs", "st", "config.json")).environment.override_storage_mb, 2048);
  });

  test("--override-gpus on podman: the engine drops GPU requests, so the trial fails at start rather than run without", async () => {
    const work = tempDir("tmax-gpus-");
    const r = await runCli(["run", "-p", HELLO, "--override-gpus", "1", "-o", join(work, "jobs"), "--job-name", "gp", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const [trial] = trials(join(work, "jobs", "gp"));
    const result = json<{ exception_info: { exception_message: string } | null; verifier_result: unknown }>(join(work, "jobs", "gp", trial!, "result.json"));
    assert.match(result.exception_info?.exception_message ?? "", /dropped the request for 1 GPU\(s\)/);
    assert.equal(result.verifier_result, null);
    assert.equal(json<{ environment: { override_gpus: number } }>(join(work, "jobs", "gp", "config.json")).environment.override_gpus, 1);
  });

  test("--override-gpus 0 runs a GPU task without GPUs (without it the task is skipped with the reason); --resume keeps the override", async () => {
    const work = tempDir("tmax-gpu-task-");
    const task = writeTask(work, "gpu-task", { toml: 'schema_version = "1.4"\n[agent]\ntimeout_sec = 60\n[verifier]\ntimeout_sec = 60\n[environment]\ngpus = 1\n' });
    const skipped = await runCli(["run", "-p", task, "-o", join(work, "jobs"), "--job-name", "plain", "--json"]);
    assert.equal(skipped.code, 1, skipped.stderr);
    assert.match(skipped.stderr, /○ gpu-task: skipped, valid but not runnable here\n\s+gpu-task\/task\.toml: \[environment\]\.gpus: 1 GPU\(s\): tmax does not give containers GPUs/);

    const r = await runCli(["run", "-p", task, "--override-gpus", "0", "-o", join(work, "jobs"), "--job-name", "g0", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual([summary(r.stdout).n_trials, summary(r.stdout).mean], [1, 1]);
    assert.match(r.stderr, /gpu-task\/task\.toml: \[environment\]\.gpus: 1 GPU\(s\) replaced by --override-gpus 0: the task runs without GPUs/);
    const jobDir = join(work, "jobs", "g0");
    assert.equal(json<{ environment: { override_gpus: number } }>(join(jobDir, "config.json")).environment.override_gpus, 0);

    // --resume reads the override from config.json: the discarded trial runs again instead of the task being skipped.
    const [first] = trials(jobDir);
    rmSync(join(jobDir, first!), { recursive: true });
    const resumed = await runCli(["run", "--resume", jobDir, "--json"]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.doesNotMatch(resumed.stderr, /not runnable here/);
    assert.deepEqual([summary(resumed.stdout).n_trials, summary(resumed.stdout).mean], [1, 1]);
    const [again] = trials(jobDir);
    const result = json<{ verifier_result: { rewards: { reward: number } }; config: { environment: { override_gpus: number } } }>(join(jobDir, again!, "result.json"));
    assert.deepEqual([result.verifier_result.rewards.reward, result.config.environment.override_gpus], [1, 0]);
    assert.deepEqual(podmanContainers(`label=tmax.job=${json<{ id: string }>(join(jobDir, "result.json")).id}`), [], "its containers are removed");
  });

  test("--mounts-json: a host dir mounted read-only into every container", async () => {
    const work = tempDir("tmax-mounts-");
    const data = join(work, "data");
    mkdirSync(data);
    writeFileSync(join(data, "word"), "mounted\n");
    writeTask(work, "reads-mount", {
      solveSh: "#!/bin/bash\ncp /mnt/in/word /app/done\n(touch /mnt/in/x 2>/dev/null && echo rw || echo ro) > /app/mode\n",
      testSh: '#!/bin/bash\nif [ "$(cat /app/done)" = mounted ] && [ "$(cat /app/mode)" = ro ]; then echo 1; else echo 0; fi > /logs/verifier/reward.txt\n',
    });
    const mounts = JSON.stringify([{ type: "bind", source: data, target: "/mnt/in", read_only: true }]);
    const r = await runCli(["run", "-p", join(work, "reads-mount"), "--mounts-json", mounts, "-o", join(work, "jobs"), "--job-name", "mt", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(summary(r.stdout).mean, 1);
    assert.deepEqual(json<{ environment: { mounts: unknown } }>(join(work, "jobs", "mt", "config.json")).environment.mounts, [{ type: "bind", source: data, target: "/mnt/in", read_only: true }]);
    const bad = await runCli(["run", "-p", HELLO, "--mounts-json", '[{"type":"image","source":"a","target":"/b"}]', "-o", join(work, "jobs")]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--mounts-json: mount a → \/b: image mounts are not supported/);
  });

  test("--ek keep_containers=true keeps the container (Harbor's docker option); an unknown kwarg is a usage error", async () => {
    const work = tempDir("tmax-ek-");
    const r = await runCli(["run", "-p", HELLO, "--ek", "keep_containers = True", "-o", join(work, "jobs"), "--job-name", "kc", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const id = json<{ id: string }>(join(work, "jobs", "kc", "result.json")).id;
    const kept = podmanContainers(`label=tmax.job=${id}`);
    try {
      assert.equal(kept.length, 1, "the trial's container is still there");
    } finally {
      if (kept.length > 0) spawnSync("podman", ["rm", "-f", ...kept], { stdio: "ignore" });
    }
    assert.deepEqual(json<{ environment: { kwargs: unknown } }>(join(work, "jobs", "kc", "config.json")).environment.kwargs, { keep_containers: true });
    const unknown = await runCli(["run", "-p", HELLO, "--ek", "bogus=1", "-o", join(work, "jobs")]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown environment kwarg\(s\) 'bogus' for the podman environment/);
  });

  test("the negated forms: the last of --delete/--no-delete, --force-build/--no-force-build, --disable/--enable-verification wins", async () => {
    const work = tempDir("tmax-negated-");
    const r = await runCli(
      ["run", "-p", HELLO, "--no-delete", "--delete", "--force-build", "--no-force-build", "--disable-verification", "--enable-verification", "-o", join(work, "jobs"), "--job-name", "ng", "--json"],
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(summary(r.stdout).mean, 1, "verified");
    const config = json<{ id?: string; environment: { delete: boolean; force_build: boolean }; verifier: { disable: boolean } }>(join(work, "jobs", "ng", "config.json"));
    assert.deepEqual([config.environment.delete, config.environment.force_build, config.verifier.disable], [true, false, false]);
    const id = json<{ id: string }>(join(work, "jobs", "ng", "result.json")).id;
    assert.deepEqual(podmanContainers(`label=tmax.job=${id}`), [], "deleted");
    const off = await runCli(["run", "-p", HELLO, "--enable-verification", "--disable-verification", "--delete", "--no-delete", "-o", join(work, "jobs"), "--job-name", "ng2", "--json"]);
    assert.equal(off.code, 0, off.stderr);
    assert.equal(json<{ verifier: { disable: boolean } }>(join(work, "jobs", "ng2", "config.json")).verifier.disable, true);
    const kept = podmanContainers(`label=tmax.job=${json<{ id: string }>(join(work, "jobs", "ng2", "result.json")).id}`);
    try {
      assert.equal(kept.length, 1, "--no-delete last: the container is kept");
    } finally {
      if (kept.length > 0) spawnSync("podman", ["rm", "-f", ...kept], { stdio: "ignore" });
    }
  });

  test("-e names Harbor's environments tmax cannot run; daytona is one tmax run takes, a container-only command says where it runs", async () => {
    const r = await runCli(["run", "-p", HELLO, "-e", "modal"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Harbor's "modal" environment \(Modal cloud sandboxes\) is not one tmax can run; tmax runs: podman, docker, daytona/);
    const agent = await runCli(["agent", "-e", "daytona", "echo hi"]);
    assert.equal(agent.code, 2);
    assert.match(agent.stderr, /tmax runs "daytona" \(Daytona cloud sandboxes\) for tmax run and tmax sandboxes only; this command runs: podman, docker/);
  });
});

describe("--env-file and -y: variables tasks read from this environment", () => {
  function secretTask(work: string): string {
    return writeTask(work, "reads-host", {
      toml: 'schema_version = "1.1"\n[verifier]\ntimeout_sec = 60\nenv = { WORD = "${TMAX_IT_SECRET_WORD}" }\n',
      testSh: '#!/bin/bash\n[ "$WORD" = swordfish ] && echo 1 > /logs/verifier/reward.txt || echo 0 > /logs/verifier/reward.txt\n',
    });
  }

  test("a variable that is not set stops the job before it starts; --env-file sets it", async () => {
    const work = tempDir("tmax-envfile-");
    const task = secretTask(work);
    const missing = await runCli(["run", "-p", task, "-o", join(work, "jobs"), "--job-name", "nf"], { env: { TMAX_IT_SECRET_WORD: undefined } });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /not set in this environment:\n\s+TMAX_IT_SECRET_WORD\s+\[verifier\.env\]/);
    assert.ok(!existsSync(join(work, "jobs", "nf", "config.json")), "nothing ran");
    writeFileSync(join(work, ".env"), "# for the verifier\nexport TMAX_IT_SECRET_WORD='swordfish'\n");
    const r = await runCli(["run", "-p", task, "--env-file", join(work, ".env"), "-o", join(work, "jobs"), "--job-name", "ef", "--json"], { env: { TMAX_IT_SECRET_WORD: undefined } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(summary(r.stdout).mean, 1);
    assert.doesNotMatch(r.stderr, /TMAX_IT_SECRET_WORD/, "a name the env file sets is not asked about (as in Harbor)");
  });

  test("on a terminal tmax asks before tasks read them (declining ends with exit 0, nothing run); -y does not ask", () => {
    const work = tempDir("tmax-yes-");
    const task = secretTask(work);
    const onTerminal = (args: string[], answer: string) => {
      const command = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
      return spawnSync("script", ["-qec", command, "/dev/null"], { input: answer, encoding: "utf8", env: { ...process.env, NO_COLOR: "1", TMAX_IT_SECRET_WORD: "swordfish" }, timeout: 120_000 });
    };
    const declined = onTerminal(["run", "-p", task, "-o", join(work, "jobs"), "--job-name", "no"], "n\n");
    assert.equal(declined.status, 0, declined.stdout);
    assert.match(declined.stdout, /Proceed\? \(Y\/n\)/);
    assert.ok(!existsSync(join(work, "jobs", "no", "config.json")), "declined: nothing ran");
    const yes = onTerminal(["run", "-p", task, "-y", "-o", join(work, "jobs"), "--job-name", "yes"], "");
    assert.equal(yes.status, 0, yes.stdout);
    assert.doesNotMatch(yes.stdout, /Proceed\?/);
    assert.ok(existsSync(join(work, "jobs", "yes", "config.json")));
  });
});

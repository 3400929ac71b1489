import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync, chmodSync, existsSync, lstatSync } from "node:fs";
import { join } from "node:path";
import { before, test } from "node:test";
import { runCli } from "../helpers/cli.js";
import { tempDir, writeTask } from "../helpers/task-fixture.js";

/**
 * An agent that tries to score without solving: each task's "solution" is a cheat, and its tests give 0 unless the
 * cheat works. The oracle agent runs those solutions, so every trial should score 0.
 */

const ZERO_UNLESS_CHEATED = "#!/bin/bash\n[ -f /logs/verifier/reward.txt ] || echo 0 > /logs/verifier/reward.txt\n";

const CHEATS: Record<string, { solveSh: string; testSh?: string; files?: Record<string, string> }> = {
  // reward.json wins over reward.txt: plant one before the tests write reward.txt.
  "planted-reward-json": {
    solveSh: "#!/bin/bash\necho '{\"reward\": 1}' > /logs/verifier/reward.json\n",
    testSh: "#!/bin/bash\necho 0 > /logs/verifier/reward.txt\n",
  },
  // A reward.txt already there: tests that only write when none exists keep it.
  "planted-reward-txt": { solveSh: "#!/bin/bash\necho 1 > /logs/verifier/reward.txt\n", testSh: ZERO_UNLESS_CHEATED },
  // A detached loop keeps rewriting the reward while the tests run.
  "background-rewriter": {
    solveSh: "#!/bin/bash\nsetsid nohup sh -c 'while :; do echo 1 > /logs/verifier/reward.txt; sleep 0.05; done' >/dev/null 2>&1 &\nsleep 0.3\n",
    testSh: "#!/bin/bash\necho 0 > /logs/verifier/reward.txt\nsleep 1\n",
  },
  // A file planted in /tests runs with the tests (think conftest.py).
  "planted-test-file": {
    solveSh: "#!/bin/bash\nmkdir -p /tests && echo 'echo 1 > /logs/verifier/reward.txt' > /tests/helper.sh\n",
    testSh: "#!/bin/bash\nif [ -f /tests/helper.sh ]; then bash /tests/helper.sh; else echo 0 > /logs/verifier/reward.txt; fi\n",
  },
};

/** A server the agent was asked to leave running: the tests talk to it (a perl TCP server; perl-base is in Debian slim). */
const SERVER_TASK = {
  solveSh:
    "#!/bin/bash\nsetsid perl -MIO::Socket::INET -e '$s=IO::Socket::INET->new(LocalPort=>7777,Listen=>5,ReuseAddr=>1) or die; while($c=$s->accept){print $c \"hello\\n\"; close $c}' >/dev/null 2>&1 &\nsleep 0.5\n",
  testSh:
    "#!/bin/bash\nif exec 3<>/dev/tcp/127.0.0.1/7777 && [ \"$(head -1 <&3)\" = hello ]; then echo 1; else echo 0; fi > /logs/verifier/reward.txt\n",
};

let jobDir = "";
let trials: Map<string, { dir: string; result: { verifier_result: { rewards: Record<string, number> } | null; exception_info: unknown } }>;

before(async () => {
  const ds = tempDir("tmax-ds-");
  for (const [name, cheat] of Object.entries(CHEATS)) writeTask(ds, name, { solveSh: cheat.solveSh, testSh: cheat.testSh ?? ZERO_UNLESS_CHEATED });
  // /tests must be the verifier's alone: the tests pass only if nothing in it is writable by others, even a file
  // that was world-writable in the task's tests/ dir.
  writeTask(ds, "tests-locked", {
    solveSh: "#!/bin/bash\ntrue\n",
    testSh:
      "#!/bin/bash\nif [ -z \"$(find /tests -perm -o+w)\" ] && [ \"$(stat -c %u /tests)\" = 0 ]; then echo 1; else echo 0; fi > /logs/verifier/reward.txt\n",
    files: { "tests/data.txt": "data\n" },
  });
  chmodSync(join(ds, "tests-locked", "tests", "data.txt"), 0o666);
  // Files the agent writes world-writable into its log dirs.
  writeTask(ds, "loose-modes", {
    solveSh: "#!/bin/bash\nmkdir -p /logs/agent/sub && echo x > /logs/agent/sub/f && chmod -R 777 /logs/agent/sub && echo y > /logs/artifacts/a && chmod 666 /logs/artifacts/a\ntouch /app/done\n",
  });
  writeTask(ds, "server-left-running", SERVER_TASK);
  // A flood through the bind mounts: held at --max-log-mb.
  writeTask(ds, "log-flood", {
    solveSh: "#!/bin/bash\nhead -c 64M /dev/zero > /logs/agent/flood.bin\nyes | head -c 32M > /logs/artifacts/more.txt\ntouch /app/done\n",
  });
  const jobs = tempDir("tmax-jobs-");
  const r = await runCli(["run", "-p", ds, "-o", jobs, "--job-name", "cheats", "-n", "3", "--max-log-mb", "5", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  jobDir = join(jobs, "cheats");
  trials = new Map();
  for (const e of readdirSync(jobDir, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    const result = JSON.parse(readFileSync(join(jobDir, e.name, "result.json"), "utf8"));
    trials.set(result.task_name, { dir: join(jobDir, e.name), result });
  }
});

for (const name of Object.keys(CHEATS)) {
  test(`verifier integrity: ${name} scores 0`, () => {
    const t = trials.get(name)!;
    assert.equal(t.result.exception_info, null);
    assert.deepEqual(t.result.verifier_result?.rewards, { reward: 0 });
  });
}

test("verifier integrity: the planted reward.json is gone; only what test.sh wrote is kept", () => {
  const t = trials.get("planted-reward-json")!;
  assert.equal(existsSync(join(t.dir, "verifier", "reward.json")), false);
  assert.equal(readFileSync(join(t.dir, "verifier", "reward.txt"), "utf8").trim(), "0");
});

test("verifier integrity: /tests is owned by the verifier and writable by nobody else", () => {
  assert.deepEqual(trials.get("tests-locked")!.result.verifier_result?.rewards, { reward: 1 });
});

test("finished trial dirs hold nothing writable by group or others", () => {
  const t = trials.get("loose-modes")!;
  assert.deepEqual(t.result.verifier_result?.rewards, { reward: 1 });
  const loose: string[] = [];
  const walk = (p: string): void => {
    const st = lstatSync(p);
    if (st.isSymbolicLink()) return;
    if (st.mode & 0o022) loose.push(`${p} ${(st.mode & 0o777).toString(8)}`);
    if (st.isDirectory()) for (const n of readdirSync(p)) walk(join(p, n));
  };
  for (const dir of trials.values()) walk(dir.dir);
  assert.deepEqual(loose, []);
  assert.equal(statSync(t.dir).mode & 0o777, 0o755);
  assert.equal(readFileSync(join(t.dir, "agent", "sub", "f"), "utf8"), "x\n");
});

test("by default a server the agent left running keeps serving the tests; --agent-processes all ends it too", async () => {
  assert.deepEqual(trials.get("server-left-running")!.result.verifier_result?.rewards, { reward: 1 });
  const ds = tempDir("tmax-ds-");
  writeTask(ds, "server-left-running", SERVER_TASK);
  const r = await runCli(["run", "-p", ds, "-o", tempDir("tmax-jobs-"), "--agent-processes", "all", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).mean, 0);
});

test("output written through the /logs bind mounts is held at the cap, cut with a marker; the trial still scores", () => {
  const t = trials.get("log-flood")!;
  assert.deepEqual(t.result.verifier_result?.rewards, { reward: 1 });
  for (const [sub, file] of [["agent", "flood.bin"], ["artifacts", "more.txt"]] as const) {
    const path = join(t.dir, sub, file);
    const st = statSync(path);
    assert.ok(st.blocks * 512 <= 5.5 * 1024 * 1024, `${sub}/${file} holds ${st.blocks * 512} bytes`);
    assert.match(readFileSync(path).subarray(-200).toString("utf8"), /\[tmax: output truncated here — .* passed its cap of 5242880 bytes\]\n$/);
  }
  assert.match(readFileSync(join(t.dir, "trial.log"), "utf8"), /passed its cap of 5242880 bytes/);
});

import assert from "node:assert/strict";
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { before, describe, test } from "node:test";
import { TaskFileFilter } from "../../src/task/harborignore.js";
import { runCli } from "../helpers/cli.js";
import { harborCheck, harborImage } from "../helpers/harbor.js";
import { tempDir, writeTask } from "../helpers/task-fixture.js";

/**
 * `.harborignore`: the same files excluded as by Harbor's own TaskFileFilter (harbor 0.26, run in its container),
 * and a task run by tmax sees only what is not excluded in /tests and /solution.
 */

function put(root: string, files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), text);
    if (rel.endsWith(".sh")) chmodSync(join(root, rel), 0o755);
  }
}

/** Every file and directory under `dir` (directories end in /, a symlink is not one), as harbor_check.py lists them. */
function tree(dir: string): { rel: string; path: string; isDir: boolean }[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .map((p) => join(dir, p))
    .map((path) => {
      const isDir = lstatSync(path).isDirectory();
      return { rel: relative(dir, path) + (isDir ? "/" : ""), path, isDir };
    })
    .sort((a, b) => (a.rel < b.rel ? -1 : 1));
}

/** A task whose inputs use every kind of rule: nested files, negation, a directory, a symlink, files out of scope. */
function ignoringTask(root: string): string {
  const dir = writeTask(root, "ignoring", {
    solveSh: "#!/bin/bash\nset -e\n[ ! -e /solution/notes.txt ] && [ ! -e /solution/.harborignore ] && [ ! -e /solution/link-to-notes ] && [ -e /solution/helper.sh ]\ntouch /app/done\n",
    testSh: [
      "#!/bin/bash",
      "ok=1",
      "for gone in /tests/fixtures /tests/a.log /tests/.harborignore /tests/sub/secret.txt /tests/sub/.harborignore; do [ -e \"$gone\" ] && { echo \"present: $gone\"; ok=0; }; done",
      "for kept in /tests/keep.log /tests/sub/ok.txt /tests/plain.txt; do [ -e \"$kept\" ] || { echo \"missing: $kept\"; ok=0; }; done",
      "[ -e /app/done ] || ok=0",
      "echo $ok > /logs/verifier/reward.txt",
    ].join("\n"),
  });
  put(dir, {
    "tests/.harborignore": "# big inputs the verifier does not need\nfixtures/\n*.log\n!keep.log\n!fixtures/keep.bin\n",
    "tests/fixtures/big.bin": "x".repeat(1000),
    "tests/fixtures/keep.bin": "still excluded: its directory is\n",
    "tests/a.log": "log\n",
    "tests/keep.log": "kept by negation\n",
    "tests/plain.txt": "plain\n",
    "tests/sub/.harborignore": "secret.txt\n",
    "tests/sub/secret.txt": "secret\n",
    "tests/sub/ok.txt": "ok\n",
    "solution/.harborignore": "notes.txt\n",
    "solution/notes.txt": "the author's notes\n",
    "solution/helper.sh": "#!/bin/bash\n",
    "environment/.harborignore": "Dockerfile\n",
    "steps/one/tests/.harborignore": "x\n",
    "steps/one/tests/x": "x\n",
    "steps/one/tests/y": "y\n",
    "notes.log": "outside every scope\n",
  });
  symlinkSync("notes.txt", join(dir, "solution", "link-to-notes"));
  return dir;
}

before(() => {
  harborImage();
});

describe(".harborignore", () => {
  test("tmax excludes exactly the files Harbor's TaskFileFilter excludes", () => {
    const dir = ignoringTask(tempDir("tmax-harborignore-"));
    const harbor = harborCheck<Record<string, boolean>>("file-filter", [dir], [dir]);
    const filter = new TaskFileFilter(dir);
    const tmax = Object.fromEntries(tree(dir).map((e) => [e.rel, filter.isExcluded(e.path, e.isDir)]));
    assert.deepEqual(tmax, harbor);
    const excluded = Object.keys(harbor).filter((k) => harbor[k]);
    for (const path of ["tests/fixtures/", "tests/fixtures/keep.bin", "tests/a.log", "tests/sub/secret.txt", "solution/notes.txt", "solution/link-to-notes", "steps/one/tests/x", "environment/.harborignore"]) {
      assert.ok(excluded.includes(path), `${path} is excluded (Harbor says: ${excluded.join(", ")})`);
    }
    for (const path of ["tests/keep.log", "environment/Dockerfile", "notes.log", "steps/one/tests/y"]) assert.equal(harbor[path], false, path);
  });

  test("a run uploads only what is not excluded into /tests and /solution", async () => {
    const root = tempDir("tmax-harborignore-");
    ignoringTask(root);
    const r = await runCli(["run", "-p", join(root, "ignoring"), "-a", "oracle", "-o", tempDir("tmax-jobs-"), "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout) as { mean: number; n_errored: number };
    assert.deepEqual([s.mean, s.n_errored], [1, 0], r.stderr);
  });

  test("an excluded test.sh makes the task invalid; an excluded solve.sh fails the oracle, naming it", async () => {
    const root = tempDir("tmax-harborignore-");
    const noTests = writeTask(root, "no-tests");
    put(noTests, { "tests/.harborignore": "test.sh\n" });
    const check = await runCli(["tasks", "check", noTests, "--json"]);
    assert.equal(check.code, 1, check.stderr);
    const [report] = JSON.parse(check.stdout) as { valid: boolean; problems: { file: string; message: string }[] }[];
    assert.equal(report!.valid, false);
    assert.ok(report!.problems.some((p) => p.file.endsWith("tests/test.sh") && /excluded by \.harborignore/.test(p.message)), JSON.stringify(report));

    const noSolve = writeTask(root, "no-solve");
    put(noSolve, { "solution/.harborignore": "solve.sh\n" });
    const jobs = tempDir("tmax-jobs-");
    const run = await runCli(["run", "-p", noSolve, "-a", "oracle", "-o", jobs, "--job-name", "j", "--json"]);
    const s = JSON.parse(run.stdout) as { mean: number; errors: Record<string, number> };
    assert.equal(s.mean, 0);
    const trial = readdirSync(join(jobs, "j")).find((n) => n.startsWith("no-solve__"))!;
    const log = readFileSync(join(jobs, "j", trial, "trial.log"), "utf8");
    assert.match(log, /solution\/solve\.sh: a required task input is excluded by \.harborignore/);
  });
});

import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { taskDirName } from "../../src/datagen/compose.js";
import { decontaminateCorpus, readBenchmark, removeContaminatedTasks } from "../../src/datagen/decontam-corpus.js";
import { decontaminate } from "../../src/datagen/decontam.js";
import { readCorpus } from "../../src/store/corpus.js";
import { tempDir } from "../helpers/task-fixture.js";
import { makeCorpus, specs } from "./datagen-corpus-fixture.js";

const COPIED = "Rotate the nginx access logs under /var/log/nginx every night and keep exactly fourteen compressed copies of the older files in place.";

function benchmark(): string {
  const bench = join(tempDir("tmax-bench-"), "tb");
  mkdirSync(join(bench, "copied"), { recursive: true });
  writeFileSync(join(bench, "copied", "instruction.md"), `Intro.\n${COPIED}\n`);
  mkdirSync(join(bench, "other"));
  writeFileSync(join(bench, "other", "instruction.md"), "Compile the kernel module and load it.\n");
  mkdirSync(join(bench, "no-instruction"));
  return bench;
}

describe("gen decontam on a corpus", () => {
  test("readBenchmark: every task's instruction.md, or one task's; errors say what is missing", () => {
    const bench = benchmark();
    const b = readBenchmark(bench);
    assert.equal(b.name, "tb");
    assert.deepEqual(b.docs.map((d) => d.id), ["copied", "other"]);
    assert.deepEqual(readBenchmark(join(bench, "copied")).docs.map((d) => d.id), ["copied"]);
    assert.throws(() => readBenchmark(join(bench, "nope")), /no such benchmark directory/);
    assert.throws(() => readBenchmark(join(bench, "no-instruction")), /no task instructions found/);
  });

  test("removal moves flagged tasks to .removed and records them as rejected (contaminated) in the manifest", async () => {
    const ss = specs(3);
    const corpus = await makeCorpus(ss, { instructions: { 1: `The team asks: ${COPIED} Thanks.\n` } });
    const flagged = taskDirName(ss[1]!);
    const before = readCorpus(corpus).manifest().get(ss[1]!.id)!;

    const { result, outDir } = await decontaminateCorpus(corpus, { against: [benchmark()], ns: [13, 8], remove: true, removeN: 13 });
    assert.deepEqual(result.removed, [flagged]);
    assert.equal(result.removeN, 13);
    assert.equal(outDir, join(corpus, "decontam"));
    assert.deepEqual(result.rows.map((r) => [r.n, r.docs, r.contaminated]), [[13, 3, 1], [8, 3, 1]]);
    for (const f of ["report.json", "report.csv", "report.md"]) assert.ok(existsSync(join(outDir, f)), f);
    assert.deepEqual(JSON.parse(readFileSync(join(outDir, "report.json"), "utf8")).removed, [flagged]);

    assert.ok(!existsSync(join(corpus, flagged)));
    assert.ok(existsSync(join(corpus, ".removed", flagged, "task.toml")), "moved aside, not deleted");
    const after = readCorpus(corpus);
    assert.deepEqual(after.tasks().map((t) => t.name), [taskDirName(ss[0]!), taskDirName(ss[2]!)].sort());
    const e = after.manifest().get(ss[1]!.id)!;
    assert.deepEqual(
      { status: e.status, reason: e.reason, stage: e.stage, task: e.task },
      { status: "rejected", reason: "contaminated", stage: "decontam", task: null },
    );
    assert.match(e.detail!, /^13-gram overlap with tb: /);
    assert.deepEqual({ ...e, status: before.status, reason: null, stage: null, detail: null, task: before.task, finished_at: before.finished_at }, before, "the rest of the entry is kept");
    assert.equal(after.manifest().get(ss[0]!.id)!.status, "accepted");
    assert.equal(readFileSync(join(corpus, "manifest.jsonl"), "utf8").trimEnd().split("\n").length, 4, "one line appended");
  });

  test("without --remove nothing moves; removal at another n uses that n's flags", async () => {
    const ss = specs(2);
    const corpus = await makeCorpus(ss, { instructions: { 0: `${COPIED}\n` } });
    const bench = benchmark();
    const { result } = await decontaminateCorpus(corpus, { against: [bench], ns: [13], remove: false, removeN: 13, outDir: join(corpus, "reports") });
    assert.deepEqual(result.removed, []);
    assert.equal(result.removeN, null);
    assert.equal(readCorpus(corpus).tasks().length, 2);
    assert.ok(existsSync(join(corpus, "reports", "report.md")));

    // A report without flags at n = 50 removes nothing, even though n = 13 flags a task.
    const tasks = readCorpus(corpus).tasks();
    const report = decontaminate(tasks.map((t) => ({ id: t.name, text: t.file("instruction.md")! })), [readBenchmark(bench)], [50, 13]);
    assert.deepEqual(await removeContaminatedTasks(corpus, report, 50), []);
    assert.deepEqual(await removeContaminatedTasks(corpus, report, 13), [taskDirName(ss[0]!)]);
  });
});

import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parse as parseToml } from "smol-toml";
import { loadTaxonomy } from "../../src/datagen/taxonomy.js";
import { sampleSpec } from "../../src/datagen/sample.js";
import type { ManifestEntry, TaskSpec } from "../../src/store/corpus-schema.js";
import { runCli, type CliResult } from "../helpers/cli.js";
import { startScriptedModel, type ScriptedModel } from "../helpers/scripted-model.js";
import { generatorScript, type Scenario } from "../helpers/scripted-generator.js";
import { tempDir } from "../helpers/task-fixture.js";

const t = loadTaxonomy();
const SCENARIOS: Scenario[] = [
  "good",
  "build-repaired",
  "build-broken",
  "tests-trivial",
  "solution-repaired",
  "solution-wrong",
  "malformed-then-good",
  "malformed-always",
];

function specsFor(scenarios: Scenario[], offset = 0): TaskSpec[] {
  return scenarios.map((s, i) => ({ ...sampleSpec(t, "legacy", 11, offset + i), persona: `scenario:${s}` }));
}

function readManifest(dir: string): Map<string, ManifestEntry> {
  const out = new Map<string, ManifestEntry>();
  for (const line of readFileSync(join(dir, "manifest.jsonl"), "utf8").split("\n").filter(Boolean)) {
    const e = JSON.parse(line) as ManifestEntry;
    out.set(e.spec.persona.replace("scenario:", ""), e);
  }
  return out;
}

describe("tmax gen build with a scripted generator, validated in real containers", () => {
  let server: ScriptedModel;
  let corpus: string;
  let specsPath: string;
  let run: CliResult;
  let manifest: Map<string, ManifestEntry>;
  const args = (): string[] => [
    "gen", "build", specsPath, "-o", corpus, "-m", "gen-model", "--base-url", server.url, "-n", "4", "--max-repairs", "1",
    "--input-cost-per-mtok", "1", "--output-cost-per-mtok", "2",
  ];

  before(async () => {
    server = await startScriptedModel(generatorScript);
    corpus = join(tempDir("tmax-corpus-"), "corpus");
    specsPath = join(tempDir(), "specs.jsonl");
    writeFileSync(specsPath, specsFor(SCENARIOS).map((s) => JSON.stringify(s)).join("\n") + "\n");
    run = await runCli(args());
    manifest = readManifest(corpus);
  });
  after(async () => server?.close());

  test("the build finishes and reports accepted / rejected by reason and cost", () => {
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /4 accepted, 4 rejected \(.*\), 0 pending of 8 specs; cost \$0\.00\d+/);
  });

  test("a valid task is accepted on the first round", () => {
    const e = manifest.get("good")!;
    assert.equal(e.status, "accepted");
    assert.equal(e.repairs, 0);
    assert.deepEqual(e.validation && { nop: e.validation.nop_reward, oracle: e.validation.oracle_reward, init: e.validation.initial_tests }, { nop: 0, oracle: 1, init: "passed" });
    assert.deepEqual(e.calls, { task: 1, environment: 1, tests: 1, solution: 1 });
    assert.deepEqual(e.tokens, { prompt: 400, completion: 40 });
    assert.ok(Math.abs(e.cost_usd! - 4 * (100 * 1 + 10 * 2) / 1e6) < 1e-12);
  });

  test("a Dockerfile that fails to build goes back to the model with the build log and is repaired", () => {
    const e = manifest.get("build-repaired")!;
    assert.equal(e.status, "accepted");
    assert.equal(e.repairs, 1);
    assert.equal(e.calls.environment, 2);
    const convo = JSON.parse(readFileSync(join(corpus, ".gen", e.spec_id, "state.json"), "utf8")).conversations.environment as { role: string; content: string }[];
    const feedback = convo.find((m) => m.role === "user" && m.content.startsWith("Validation in a real container failed"))!;
    assert.match(feedback.content, /the Docker image does not build/);
    assert.match(feedback.content, /exit|status 3/i);
  });

  test("broken cases that stay broken are rejected with the right reason", () => {
    assert.equal(manifest.get("build-broken")!.reason, "build_failed");
    assert.equal(manifest.get("tests-trivial")!.reason, "tests_pass_without_solution");
    assert.equal(manifest.get("tests-trivial")!.calls.tests, 2, "the tests stage got one repair round");
    assert.equal(manifest.get("solution-wrong")!.reason, "solution_fails");
    assert.match(manifest.get("solution-wrong")!.detail!, /reward 0 after the reference solution/);
    for (const s of ["build-broken", "tests-trivial", "solution-wrong"]) {
      const e = manifest.get(s)!;
      assert.equal(e.status, "rejected");
      assert.equal(e.task, null);
      assert.ok(!existsSync(join(corpus, e.spec_id.replace("spec_", "task_"))), "no task dir for a rejected spec");
    }
  });

  test("a failing solution is repaired with the test output", () => {
    const e = manifest.get("solution-repaired")!;
    assert.equal(e.status, "accepted");
    assert.equal(e.calls.solution, 2);
  });

  test("malformed replies are re-asked with the parse error, bounded", () => {
    const ok = manifest.get("malformed-then-good")!;
    assert.equal(ok.status, "accepted");
    assert.equal(ok.calls.task, 2);
    const bad = manifest.get("malformed-always")!;
    assert.equal(bad.reason, "parse_error:task");
    assert.equal(bad.calls.task, 3, "first ask plus two re-asks");
    assert.match(bad.detail!, /<summary> section is not closed|no <summary>/);
    const convo = JSON.parse(readFileSync(join(corpus, ".gen", bad.spec_id, "state.json"), "utf8")).conversations.task as { role: string; content: string }[];
    assert.ok(convo.some((m) => m.role === "user" && m.content.startsWith("Your reply could not be used: ")));
  });

  test("accepted tasks are Harbor task dirs with the axes, model, cost and validation in [metadata]", () => {
    const e = manifest.get("good")!;
    const dir = join(corpus, e.task!);
    for (const f of ["instruction.md", "task.toml", "environment/Dockerfile", "tests/test.sh", "tests/test_final_state.py", "solution/solve.sh", "generation/truth.md"]) {
      assert.ok(existsSync(join(dir, f)), f);
    }
    const toml = parseToml(readFileSync(join(dir, "task.toml"), "utf8")) as { task: { name: string }; metadata: Record<string, unknown> };
    assert.equal(toml.task.name, `tmax-gen/${e.task}`);
    const m = toml.metadata;
    assert.equal(m.generator_model, "gen-model");
    assert.equal(m.domain, e.spec.domain);
    assert.deepEqual(m.primitive_skills, e.spec.skills);
    assert.equal(m.verifier_kind, "exact_text");
    assert.equal(m.spec_id, e.spec_id);
    assert.equal((m.validation as Record<string, unknown>).oracle_reward, 1);
    assert.ok((m.cost_usd as number) > 0);
    const envFiles = readdirSync(join(dir, "environment"));
    assert.ok(!envFiles.some((f) => /truth|solution|test/.test(f)), "no answers or tests in the build context");
    assert.ok(!readFileSync(join(dir, "environment", "Dockerfile"), "utf8").includes("random.Random(42): 200"), "truth text is not in the image");
  });

  test("accepted tasks run with tmax run: oracle 1, nop 0", async () => {
    const accepted = [...manifest.values()].filter((e) => e.status === "accepted");
    const jobs = tempDir("tmax-jobs-");
    const oracle = await runCli(["run", "-p", corpus, "-a", "oracle", "-o", jobs, "--job-name", "o", "--json", "-n", "4"]);
    assert.equal(oracle.code, 0, oracle.stderr);
    const o = JSON.parse(oracle.stdout);
    assert.equal(o.n_trials, accepted.length);
    assert.equal(o.mean, 1);
    const nop = await runCli(["run", "-p", corpus, "-a", "nop", "-o", jobs, "--job-name", "n", "--json", "-n", "4"]);
    assert.equal(JSON.parse(nop.stdout).mean, 0);
  });

  test("gen solve writes pass@k and difficulty tiers into each task's metadata", async () => {
    const r = await runCli(["gen", "solve", corpus, "-a", "oracle", "-k", "2", "-n", "4", "-q"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /easy\s*│\s*4\s*│\s*100\.0%/);
    assert.match(r.stdout, /pass@1 1\.000 {2}pass@2 1\.000/);
    const e = manifest.get("good")!;
    const meta = (parseToml(readFileSync(join(corpus, e.task!, "task.toml"), "utf8")) as { metadata: Record<string, unknown> }).metadata;
    assert.equal(meta.difficulty_tier, "easy");
    const solve = meta.solve as { agent: string; attempts: number; successes: number; accuracy: number; pass_at_k: Record<string, number> };
    assert.deepEqual([solve.agent, solve.attempts, solve.successes, solve.accuracy], ["oracle", 2, 2, 1]);
    assert.deepEqual({ ...solve.pass_at_k }, { "1": 1, "2": 1 });
    assert.equal(meta.domain, e.spec.domain, "the rest of the metadata is kept");
  });

  test("gen analyze: acceptance by axis, rejection reasons, cost per accepted task, HTML report", async () => {
    const r = await runCli(["gen", "analyze", corpus, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const a = JSON.parse(r.stdout);
    assert.equal(a.totals.specs, 8);
    assert.equal(a.totals.accepted, 4);
    assert.equal(a.totals.acceptanceRate, 0.5);
    assert.ok(Math.abs(a.totals.costPerAcceptedUsd - a.totals.costUsd / 4) < 1e-12);
    assert.deepEqual(
      a.rejections.map((x: { reason: string }) => x.reason).sort(),
      ["build_failed", "parse_error:task", "solution_fails", "tests_pass_without_solution"],
    );
    const stages = Object.fromEntries(a.stages.map((s: { stage: string; reached: number; passed: number }) => [s.stage, [s.reached, s.passed]]));
    assert.deepEqual(stages.task, [8, 7]);
    assert.deepEqual(stages.oracle, [5, 4]);
    const persona = a.axes.find((x: { axis: string }) => x.axis === "persona");
    const good = persona.values.find((v: { value: string }) => v.value === "scenario:good");
    assert.deepEqual([good.accepted, good.acceptanceRate, good.passRate], [1, 1, 1]);
    assert.deepEqual(a.tiers, [{ tier: "easy", count: 4 }]);
    const html = readFileSync(join(corpus, "report.html"), "utf8");
    assert.ok(html.startsWith("<!DOCTYPE html>") && html.includes("<svg"));
    const table = await runCli(["gen", "analyze", corpus]);
    assert.match(table.stdout, /Acceptance\s*│\s*50\.0%/);
  });

  test("rerunning the same command does nothing more: every spec is finished", async () => {
    const before = server.requests.length;
    const again = await runCli(args());
    assert.equal(again.code, 0, again.stderr);
    assert.equal(server.requests.length, before, "no new model calls");
    assert.match(again.stdout, /4 accepted, 4 rejected .* 0 pending of 8 specs/);
  });

  test("gen export --format parquet publishes the accepted tasks; read back equals what was written", async () => {
    const out = join(tempDir("tmax-export-"), "hf");
    const r = await runCli(["gen", "export", corpus, "--format", "parquet", "-o", out]);
    assert.equal(r.code, 0, r.stderr);
    const { readParquetRows, corpusRows, withoutTruth } = await import("../../src/datagen/export.js");
    const rows = await readParquetRows(join(out, "data", "train-00000-of-00001.parquet"));
    assert.equal(rows.length, 4);
    assert.deepEqual(JSON.parse(JSON.stringify(rows)), JSON.parse(JSON.stringify(corpusRows(corpus).map(withoutTruth))));
    assert.match(readFileSync(join(out, "README.md"), "utf8"), /^---\n[\s\S]*configs:/);
  });

  test("gen decontam flags a task that copies a benchmark instruction and --remove moves it aside", async () => {
    const bench = tempDir("tmax-bench-");
    const { mkdirSync } = await import("node:fs");
    mkdirSync(join(bench, "copied-task"));
    writeFileSync(join(bench, "copied-task", "instruction.md"), "Intro. Compute the sum of all the integers in the file and write it, as a plain decimal number followed by a newline, to the output.\n");
    mkdirSync(join(bench, "unrelated"));
    writeFileSync(join(bench, "unrelated", "instruction.md"), "Configure nginx to serve static files from /srv/www on port 8080.\n");
    const r = await runCli(["gen", "decontam", corpus, "--against", bench, "--remove", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const rep = JSON.parse(r.stdout);
    const row13 = rep.rows.find((x: { n: number }) => x.n === 13);
    assert.deepEqual([row13.docs, row13.contaminated, row13.rate], [4, 4, 1]);
    assert.equal(rep.removed.length, 4);
    assert.ok(existsSync(join(corpus, ".removed", rep.removed[0])));
    assert.ok(existsSync(join(corpus, "decontam", "report.md")));
    const a = JSON.parse((await runCli(["gen", "analyze", corpus, "--json"])).stdout);
    assert.equal(a.totals.accepted, 0, "removed tasks count as rejected (contaminated)");
    assert.ok(a.rejections.some((x: { reason: string; count: number }) => x.reason === "contaminated" && x.count === 4));
  });
});

describe("tmax gen build stops at its budget and continues where it stopped", () => {
  test("a second run with a larger budget reuses the checkpoints and finishes", async () => {
    const server = await startScriptedModel(generatorScript);
    try {
      const corpus = join(tempDir("tmax-corpus-"), "c");
      const specsPath = join(tempDir(), "specs.jsonl");
      writeFileSync(specsPath, specsFor(["good", "good"], 100).map((s) => JSON.stringify(s)).join("\n") + "\n");
      const base = ["gen", "build", specsPath, "-o", corpus, "-m", "gen-model", "--base-url", server.url, "-n", "1", "--input-cost-per-mtok", "1", "--output-cost-per-mtok", "2"];
      // Each call costs $0.00012: the budget allows 6 calls, so the second spec stops after its second stage.
      const first = await runCli([...base, "--budget-usd", "0.00072"]);
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stdout, /1 accepted, 0 rejected, 1 pending of 2 specs/);
      assert.match(first.stdout, /stopped: the budget of \$0\.00072 is spent/);
      const callsBefore = server.requests.length;
      assert.equal(callsBefore, 6);
      const second = await runCli([...base, "--budget-usd", "1"]);
      assert.equal(second.code, 0, second.stderr);
      assert.match(second.stdout, /2 accepted, 0 rejected, 0 pending of 2 specs/);
      assert.equal(server.requests.length - callsBefore, 2, "only the two missing stages were asked for");
      const lines = readFileSync(join(corpus, "manifest.jsonl"), "utf8").trim().split("\n");
      assert.equal(lines.length, 2);
    } finally {
      await server.close();
    }
  });
});

describe("tmax gen build after Ctrl-C", () => {
  test("stops promptly and the rerun continues from the checkpoint without re-asking finished stages", async () => {
    let hung = false;
    const server = await startScriptedModel((req, i) => {
      const turn = generatorScript(req);
      const first = req.body.messages.find((m) => m.role === "user")?.content ?? "";
      if (!hung && first.startsWith("Now build the environment")) {
        hung = true;
        return { kind: "hang", ms: 60_000, then: turn };
      }
      void i;
      return turn;
    });
    try {
      const corpus = join(tempDir("tmax-corpus-"), "c");
      const specsPath = join(tempDir(), "specs.jsonl");
      const [spec] = specsFor(["good"], 200);
      writeFileSync(specsPath, JSON.stringify(spec) + "\n");
      const { startCli, finished } = await import("../helpers/cli.js");
      const cmd = ["gen", "build", specsPath, "-o", corpus, "-m", "gen-model", "--base-url", server.url, "-n", "1"];
      const child = startCli(cmd);
      const done = finished(child);
      const deadline = Date.now() + 30_000;
      while (!hung && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.ok(hung, "the environment stage was reached");
      const sent = Date.now();
      child.kill("SIGINT");
      const r = await done;
      assert.equal(r.code, 130, r.stderr);
      assert.ok(Date.now() - sent < 5000, `stopped after ${Date.now() - sent} ms`);
      assert.match(r.stdout, /0 accepted, 0 rejected, 1 pending of 1 specs/);
      const state = JSON.parse(readFileSync(join(corpus, ".gen", spec!.id, "state.json"), "utf8"));
      assert.ok(state.outputs.task, "the finished task stage was checkpointed");
      const taskCalls = server.requests.filter((q) => q.body.messages.find((m) => m.role === "user")?.content?.startsWith("Create one task")).length;
      const again = await runCli(cmd);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /1 accepted, 0 rejected, 0 pending of 1 specs/);
      const taskCallsAfter = server.requests.filter((q) => q.body.messages.find((m) => m.role === "user")?.content?.startsWith("Create one task")).length;
      assert.equal(taskCallsAfter, taskCalls, "the task stage was not asked again");
    } finally {
      await server.close();
    }
  });
});

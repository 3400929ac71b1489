import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/task-fixture.js";

test("tmax gen sample: the same seed writes the same specs file; marginals are printed", async () => {
  const dir = tempDir();
  const a = await runCli(["gen", "sample", "-n", "300", "--corpus", "rl", "--seed", "7", "-o", join(dir, "a.jsonl")]);
  const b = await runCli(["gen", "sample", "-n", "300", "--corpus", "rl_v2", "--seed", "7", "-o", join(dir, "b.jsonl")]);
  const c = await runCli(["gen", "sample", "-n", "300", "--corpus", "rl", "--seed", "8", "-o", join(dir, "c.jsonl"), "-q"]);
  assert.equal(a.code, 0, a.stderr);
  const fa = readFileSync(join(dir, "a.jsonl"), "utf8");
  assert.equal(fa, readFileSync(join(dir, "b.jsonl"), "utf8"), "the alias rl means rl_v2");
  assert.notEqual(fa, readFileSync(join(dir, "c.jsonl"), "utf8"));
  const lines = fa.trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(lines.length, 300);
  assert.equal(lines[0].corpus_kind, "rl_v2");
  assert.ok(lines.every((s: { verifier_kind: string }) => s.verifier_kind !== "exact_text"), "rl_v2 always uses a new verifier kind");
  assert.match(a.stderr, /300 specs \(rl_v2, seed 7/);
  assert.match(a.stderr, /task_complexity.*intricate 7\d\.\d/);
  const more = await runCli(["gen", "sample", "-n", "100", "--corpus", "rl", "--seed", "7", "--start", "300", "-o", join(dir, "d.jsonl"), "-q"]);
  assert.equal(more.code, 0);
  assert.match(readFileSync(join(dir, "d.jsonl"), "utf8"), /^\{"id":"spec_000300_/);
  const bad = await runCli(["gen", "sample", "--corpus", "huge", "-o", join(dir, "x.jsonl")]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /unknown corpus kind "huge"/);
});

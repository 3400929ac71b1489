import assert from "node:assert/strict";
import { appendFileSync, cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parse as parseToml } from "smol-toml";
import { taskDirName } from "../../src/datagen/compose.js";
import { appendManifest, updateTaskMetadata } from "../../src/datagen/corpus-write.js";
import { CorpusReadError, readCorpus, readCorpusTask, readSpecs } from "../../src/store/corpus.js";
import { tempDir } from "../helpers/task-fixture.js";
import { entry, makeCorpus, specs, VALIDATION } from "./datagen-corpus-fixture.js";

/** Replaces `key = …` in the [metadata] table of a task.toml. */
function setMetadataLine(tomlPath: string, key: string, line: string): void {
  const text = readFileSync(tomlPath, "utf8");
  const re = new RegExp(`^${key} = .*$`, "m");
  assert.ok(re.test(text), `${key} is in ${tomlPath}`);
  writeFileSync(tomlPath, text.replace(re, line));
}

describe("readCorpus", () => {
  test("a valid corpus: manifest (last line wins), tasks in name order with typed metadata and spec, in-progress specs", async () => {
    const ss = specs(4);
    const corpus = await makeCorpus(ss.slice(0, 3), { rejected: new Set([ss[1]!.id]) });
    // A later line for a spec replaces the earlier one (decontam does this).
    appendManifest(corpus, entry(ss[0]!, { status: "rejected", reason: "contaminated", stage: "decontam", task: null }));
    // Checkpoints: ss[3] is in progress; ss[0] is finished (it has a manifest line); a stray file is not a spec.
    mkdirSync(join(corpus, ".gen", ss[3]!.id), { recursive: true });
    mkdirSync(join(corpus, ".gen", ss[0]!.id), { recursive: true });
    writeFileSync(join(corpus, ".gen", "spec_notes.txt"), "x\n");
    // Hidden directories with a task.toml are not tasks: removed ones, staging dirs.
    cpSync(join(corpus, taskDirName(ss[2]!)), join(corpus, ".removed", taskDirName(ss[2]!)), { recursive: true });
    cpSync(join(corpus, taskDirName(ss[2]!)), join(corpus, `.${taskDirName(ss[2]!)}.tmp`), { recursive: true });
    mkdirSync(join(corpus, "not-a-task"));

    const c = readCorpus(corpus);
    const manifest = c.manifest();
    assert.deepEqual([...manifest.keys()], [ss[0]!.id, ss[1]!.id, ss[2]!.id], "in order of first appearance");
    assert.equal(manifest.get(ss[0]!.id)!.reason, "contaminated");
    assert.equal(manifest.get(ss[1]!.id)!.status, "rejected");
    assert.deepEqual(manifest.get(ss[2]!.id)!.validation, VALIDATION);
    assert.deepEqual(manifest.get(ss[2]!.id)!.spec, ss[2]);
    assert.deepEqual(c.inProgress(), [ss[3]!.id]);

    const tasks = c.tasks();
    assert.deepEqual(tasks.map((t) => t.name), [taskDirName(ss[0]!), taskDirName(ss[2]!)].sort());
    const t = tasks.find((x) => x.name === taskDirName(ss[2]!))!;
    assert.equal(t.dir, join(corpus, t.name));
    assert.equal(t.config.task?.name, `tmax-gen/${t.name}`);
    assert.equal(t.config.task?.description, "Summary 2");
    const m = t.metadata;
    assert.equal(m.spec_id, ss[2]!.id);
    assert.equal(m.spec_seed, ss[2]!.spec_seed);
    assert.deepEqual(m.primitive_skills, ss[2]!.skills);
    assert.equal(m.scenario, ss[2]!.persona);
    assert.deepEqual(m.tokens, { prompt: 100, completion: 10 });
    assert.deepEqual(m.validation, VALIDATION);
    assert.equal(m.difficulty_tier, undefined);
    assert.deepEqual(t.spec, ss[2]);
    assert.equal(t.file("generation/truth.md"), "Truth 2\n");
    assert.equal(t.file("no/such/file"), null);
    assert.ok(t.has("solution/solve.sh"));
    assert.equal(t.path("tests/test.sh"), join(t.dir, "tests", "test.sh"));
  });

  test("a missing manifest is empty; a missing corpus directory is an error when tasks are asked for", () => {
    const dir = tempDir();
    assert.equal(readCorpus(dir).manifest().size, 0);
    assert.deepEqual(readCorpus(dir).tasks(), []);
    assert.deepEqual(readCorpus(dir).inProgress(), []);
    const missing = join(dir, "nope");
    const c = readCorpus(missing);
    assert.throws(() => c.tasks(), /nope: no such corpus directory/);
  });

  test("a malformed manifest line is reported with its number; a last line cut by a crash is tolerated", async () => {
    const ss = specs(3);
    const corpus = await makeCorpus(ss.slice(0, 2));
    const path = join(corpus, "manifest.jsonl");
    const lines = readFileSync(path, "utf8").trimEnd().split("\n");
    // The last line, cut mid-append (no newline): skipped.
    appendFileSync(path, JSON.stringify(entry(ss[2]!)).slice(0, 40));
    assert.deepEqual([...readCorpus(corpus).manifest().keys()], [ss[0]!.id, ss[1]!.id]);
    // The same damage on line 2 of 3 is an error naming line 2.
    writeFileSync(path, [lines[0], lines[1]!.slice(0, 30), lines[1]].join("\n") + "\n");
    assert.throws(
      () => readCorpus(corpus).manifest(),
      (e: Error) => e instanceof CorpusReadError && e.message.startsWith(`${path}:2: not valid JSON`),
    );
  });

  test("a manifest line with a field of the wrong type names the line and the field", async () => {
    const ss = specs(2);
    const corpus = await makeCorpus(ss);
    const path = join(corpus, "manifest.jsonl");
    appendManifest(corpus, { ...entry(ss[0]!), cost_usd: "cheap" as unknown as number });
    appendManifest(corpus, entry(ss[1]!));
    assert.throws(() => readCorpus(corpus).manifest(), (e: Error) => e.message.includes(`${path}:3: cost_usd: expected number, received string`));
    writeFileSync(path, JSON.stringify({ ...entry(ss[0]!), spec: { ...ss[0]!, skills: "one" } }) + "\n\n");
    assert.throws(() => readCorpus(corpus).manifest(), (e: Error) => e.message.includes(`${path}:1: spec.skills: expected array`));
  });

  test("[metadata] with a wrong type is an error naming the file and the field; tasks are read lazily", async () => {
    const [s] = specs(1);
    const corpus = await makeCorpus([s!]);
    const toml = join(corpus, taskDirName(s!), "task.toml");
    setMetadataLine(toml, "spec_seed", 'spec_seed = "seven"');
    const c = readCorpus(corpus);
    const [t] = c.tasks(); // listing does not read task.toml
    assert.equal(t!.name, taskDirName(s!));
    assert.throws(() => t!.metadata, (e: Error) => e instanceof CorpusReadError && e.message === `${toml}: [metadata].spec_seed: expected number, received string`);

    makeNested(toml);
    assert.throws(() => readCorpusTask(join(corpus, taskDirName(s!))).metadata, (e: Error) => e.message.includes(`${toml}: [metadata.solve].accuracy: expected number, received string`));

    writeFileSync(toml, "[task\nname = ");
    assert.throws(() => readCorpusTask(join(corpus, taskDirName(s!))).toml, (e: Error) => e.message.startsWith(`${toml}: `));
  });

  test("[metadata] is lenient: missing keys, unknown keys and nulls left out by TOML all read", async () => {
    const [s] = specs(1);
    const corpus = await makeCorpus([s!]);
    const dir = join(corpus, taskDirName(s!));
    writeFileSync(
      join(dir, "task.toml"),
      ['schema_version = "1.1"', "[metadata]", 'domain = "debugging"', 'hand_note = "checked by Ann"', "[metadata.validation]", "image_built = true", 'initial_tests = "passed"', "oracle_reward = 1", "rounds = 1", "repairs = 0", ""].join("\n"),
    );
    const t = readCorpusTask(dir);
    assert.equal(t.metadata.domain, "debugging");
    assert.equal(t.metadata.spec_id, undefined);
    assert.deepEqual(t.metadata.validation, { image_built: true, build_s: null, initial_tests: "passed", nop_reward: null, oracle_reward: 1, rounds: 1, repairs: 0 });
    assert.equal(t.config.task, undefined);
    assert.equal((t.toml.metadata as Record<string, unknown>).hand_note, "checked by Ann", "the raw table keeps every key");
  });

  test("generation/spec.json is validated, naming the file and the field", async () => {
    const [s] = specs(1);
    const corpus = await makeCorpus([s!]);
    const path = join(corpus, taskDirName(s!), "generation", "spec.json");
    writeFileSync(path, JSON.stringify({ ...s!, index: "first" }));
    assert.throws(() => readCorpusTask(join(corpus, taskDirName(s!))).spec, (e: Error) => e.message.includes(`${path}: index: expected number`));
  });

  test("updateTaskMetadata merges keys and keeps everything else of task.toml", async () => {
    const [s] = specs(1);
    const corpus = await makeCorpus([s!]);
    const dir = join(corpus, taskDirName(s!));
    const toml = join(dir, "task.toml");
    writeFileSync(toml, readFileSync(toml, "utf8").replace("[metadata]\n", '[metadata]\nhand_note = "keep me"\nbig_id = 12345678901234567890\n'));
    await updateTaskMetadata(dir, { difficulty_tier: "core" });
    const text = readFileSync(toml, "utf8");
    assert.match(text, /^big_id = 12345678901234567890$/m, "an integer beyond 2^53 is written back as it was");
    const raw = parseToml(text, { integersAsBigInt: "asNeeded" }) as { metadata: Record<string, unknown>; verifier: unknown };
    assert.equal(raw.metadata.hand_note, "keep me");
    assert.equal(raw.metadata.difficulty_tier, "core");
    assert.equal(raw.metadata.spec_id, s!.id);
    assert.deepEqual({ ...(raw.verifier as object) }, { timeout_sec: 120 });
    assert.equal(readCorpusTask(dir).metadata.difficulty_tier, "core");
  });
});

/** Gives the task a [metadata.solve] table whose accuracy is a string. */
function makeNested(toml: string): void {
  writeFileSync(toml, readFileSync(toml, "utf8").replace(/^spec_seed = .*$/m, "spec_seed = 7") + '\n[metadata.solve]\nagent = "oracle"\naccuracy = "high"\n');
}

describe("readSpecs", () => {
  const write = (lines: unknown[]): string => {
    const path = join(tempDir(), "specs.jsonl");
    writeFileSync(path, lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n") + "\n");
    return path;
  };

  test("reads the specs gen sample writes", () => {
    const ss = specs(3);
    assert.deepEqual(readSpecs(write(ss)), ss);
  });

  test("errors name the line and the field", () => {
    const [a, b] = specs(2);
    const { domain: _d, ...noDomain } = b!;
    let p = write([a, noDomain]);
    assert.throws(() => readSpecs(p), (e: Error) => e.message === `${p}:2: spec has no "domain" (was it written by \`tmax gen sample\`?)`);
    p = write([a, { ...b!, skills: [1, 2] }]);
    assert.throws(() => readSpecs(p), (e: Error) => e.message.startsWith(`${p}:2: skills[0]: expected string`));
    p = write([a, "{not json"]);
    assert.throws(() => readSpecs(p), (e: Error) => e.message.startsWith(`${p}:2: not valid JSON`));
    p = write([a, a]);
    assert.throws(() => readSpecs(p), new RegExp(`spec id ${a!.id} appears twice`));
    p = write([[1, 2]]);
    assert.throws(() => readSpecs(p), /:1: a spec must be a JSON object/);
    assert.throws(() => readSpecs(join(tempDir(), "missing.jsonl")), /cannot read the specs file/);
  });
});

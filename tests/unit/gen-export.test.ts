import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { asyncBufferFromFile, parquetMetadataAsync } from "hyparquet";
import { genExportCommand } from "../../src/cli/commands/gen-export.js";
import { composeDockerfile, TEST_SH, taskDirName, writeTaskDir, type GeneratedParts, type GenerationMeta } from "../../src/datagen/compose.js";
import { updateTaskMetadata } from "../../src/datagen/corpus-write.js";
import { CARD_AXES, corpusRows, EXPORT_MARKER, exportHarbor, exportHuggingFace, readParquetRows, type ExportRow } from "../../src/datagen/export.js";
import { sampleSpec } from "../../src/datagen/sample.js";
import type { TaskSpec } from "../../src/store/corpus-schema.js";
import { loadTaxonomy } from "../../src/datagen/taxonomy.js";
import { runCli } from "../helpers/cli.js";
import { tempDir as makeTempDir } from "../helpers/task-fixture.js";

const made: string[] = [];
function tempDir(prefix: string): string {
  const d = makeTempDir(prefix);
  made.push(d);
  return d;
}
after(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

const taxonomy = loadTaxonomy();

const UNICODE = "naïve café — 日本語のログ, emoji 🚀, Ελληνικά";

function parts(i: number, files: Record<string, string>): GeneratedParts {
  return {
    task: {
      summary: i === 0 ? `Repair the ${UNICODE} log rotation` : `Summary of task ${i}`,
      instruction: `Task ${i}: ${i === 0 ? UNICODE : "plain text"}.\n\nDo the thing in /app and write the result to /app/out.txt.\n`,
      truth: `Truth ${i}: the answer is ${i * 7}. ${i === 0 ? UNICODE : ""}`,
    },
    environment: {
      dockerfileBody: `RUN echo task-${i} > /etc/task-id\nCOPY . /app/\n`,
      files,
      initialTest: `def test_initial_${i}():\n    assert True\n`,
    },
    tests: { finalTest: `def test_final_${i}():\n    assert open('/app/out.txt').read() == '${i}'\n` },
    solution: { solveSh: `#!/bin/bash\necho -n ${i} > /app/out.txt\n` },
  };
}

function meta(costUsd: number | null, validated: boolean): GenerationMeta {
  return {
    model: "gen-model-x",
    costUsd,
    promptTokens: 1000,
    completionTokens: 500,
    validation: validated ? { image_built: true, build_s: 12.5, initial_tests: "passed", nop_reward: 0, oracle_reward: 1, rounds: 1, repairs: 0 } : null,
  };
}

/** Relative file paths under a directory, sorted. */
function walk(dir: string, rel = ""): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...walk(dir, r));
    else out.push(r);
  }
  return out.sort();
}

function noTruth(r: ExportRow): Omit<ExportRow, "truth"> {
  const { truth: _t, ...rest } = r;
  return rest;
}

const SOLVE = {
  agent: "tmax-agent",
  model: "solver-model",
  attempts: 4,
  successes: 3,
  accuracy: 0.75,
  pass_at_k: { "1": 0.75, "2": 1, "3": 1, "4": 1 },
  job: "jobs/solve-1",
};

describe("gen export", () => {
  let corpus: string;
  let specs: TaskSpec[];
  let names: string[];
  const files0 = { "setup.sh": "#!/bin/bash\necho setup\n", "data/input.csv": `id,name\n1,${UNICODE}\n`, "data/nested/conf.ini": "[a]\nb = 1\n" };

  before(async () => {
    corpus = tempDir("tmax-export-corpus-");
    specs = [0, 1, 2].map((i) => sampleSpec(taxonomy, "rl_v2", 4242, i));
    // Hand-made variations so marginals are not all 1/3 and both anchor cases occur.
    specs[0] = { ...specs[0]!, anchor: null, domain: "debugging", language: "Python" };
    specs[1] = { ...specs[1]!, anchor: "logrotate misconfiguration", domain: "debugging", language: "C" };
    specs[2] = { ...specs[2]!, anchor: "a | pipe in an anchor", domain: "system_administration", language: "Python" };
    names = specs.map(taskDirName);
    await writeTaskDir(join(corpus, names[0]!), specs[0], parts(0, files0), meta(0.012345, true));
    await writeTaskDir(join(corpus, names[1]!), specs[1], parts(1, {}), meta(null, true));
    await writeTaskDir(join(corpus, names[2]!), specs[2], parts(2, { "fixture.txt": "x\n" }), meta(0.5, false));
    await updateTaskMetadata(join(corpus, names[1]!), { difficulty_tier: "core", solve: SOLVE });
    // Task 2 lacks its truth and its initial test: those become "".
    rmSync(join(corpus, names[2]!, "generation", "truth.md"));
    rmSync(join(corpus, names[2]!, "tests", "test_initial_state.py"));
    // Not tasks: never exported.
    mkdirSync(join(corpus, ".gen", "work"), { recursive: true });
    writeFileSync(join(corpus, ".gen", "work", "x.txt"), "scratch\n");
    writeFileSync(join(corpus, "manifest.jsonl"), "{}\n");
  });

  test("corpusRows: one typed row per task with every axis, file and solve result", () => {
    const rows = corpusRows(corpus);
    assert.deepEqual(rows.map((r) => r.task_id), [...names].sort());
    const byId = new Map(rows.map((r) => [r.task_id, r]));
    const s0 = specs[0]!;
    const p0 = parts(0, files0);
    assert.deepEqual(byId.get(names[0]!), {
      task_id: names[0]!,
      name: `tmax-gen/${names[0]}`,
      summary: p0.task.summary,
      instruction: p0.task.instruction.trim() + "\n",
      truth: p0.task.truth.trim() + "\n",
      corpus_kind: "rl_v2",
      domain: "debugging",
      skill_type: s0.skill_type,
      primitive_skills: s0.skills,
      task_complexity: s0.task_complexity,
      command_complexity: s0.command_complexity,
      verifier_kind: s0.verifier_kind,
      fixture_kind: s0.fixture_kind,
      scenario: s0.persona,
      language: "Python",
      anchor: null,
      spec_id: s0.id,
      spec_seed: s0.spec_seed,
      seed: 4242,
      generator_model: "gen-model-x",
      cost_usd: 0.012345,
      dockerfile: composeDockerfile(p0.environment.dockerfileBody),
      environment_files: files0,
      initial_test: p0.environment.initialTest,
      final_test: p0.tests.finalTest,
      test_sh: TEST_SH,
      solution: p0.solution.solveSh,
      difficulty_tier: null,
      solve_accuracy: null,
      pass_at_k: null,
    } satisfies ExportRow);
    const r1 = byId.get(names[1]!)!;
    assert.equal(r1.anchor, "logrotate misconfiguration");
    assert.equal(r1.cost_usd, null);
    assert.deepEqual(r1.environment_files, {});
    assert.equal(r1.difficulty_tier, "core");
    assert.equal(r1.solve_accuracy, 0.75);
    assert.deepEqual(r1.pass_at_k, SOLVE.pass_at_k);
    assert.equal(r1.verifier_kind, specs[1]!.verifier_kind);
    assert.equal(r1.fixture_kind, specs[1]!.fixture_kind);
    const r2 = byId.get(names[2]!)!;
    assert.equal(r2.truth, "");
    assert.equal(r2.initial_test, "");
    assert.equal(r2.cost_usd, 0.5);
    assert.equal(r2.domain, "system_administration");
    assert.deepEqual(r2.environment_files, { "fixture.txt": "x\n" });
    assert.equal(r2.difficulty_tier, null);
  });

  test("corpusRows: an unreadable task.toml is an error naming the file", async () => {
    const bad = tempDir("tmax-export-bad-");
    await writeTaskDir(join(bad, names[0]!), specs[0]!, parts(0, {}), meta(null, false));
    writeFileSync(join(bad, names[0]!, "task.toml"), "[task\nname = ");
    assert.throws(() => corpusRows(bad), (e: Error) => e.message.includes(join(bad, names[0]!, "task.toml")));
  });

  test("Harbor export copies every task file except generation/, keeps modes, and refuses foreign directories", async () => {
    const out = join(tempDir("tmax-export-harbor-"), "harbor");
    const res = await exportHarbor(corpus, out, { includeTruth: false });
    assert.equal(res.tasks, 3);
    assert.deepEqual(readdirSync(out).sort(), [EXPORT_MARKER, ...names].sort());
    let total = 0;
    for (const name of names) {
      const src = walk(join(corpus, name));
      const expected = src.filter((p) => !p.startsWith("generation/"));
      assert.ok(expected.length < src.length, "the corpus task has generation/ files");
      assert.deepEqual(walk(join(out, name)), expected);
      total += expected.length;
      for (const rel of expected) {
        assert.equal(readFileSync(join(out, name, rel), "utf8"), readFileSync(join(corpus, name, rel), "utf8"), rel);
        assert.equal(statSync(join(out, name, rel)).mode & 0o7777, statSync(join(corpus, name, rel)).mode & 0o7777, `${name}/${rel} mode`);
      }
      for (const exe of ["solution/solve.sh", "tests/test.sh"]) assert.ok(statSync(join(out, name, exe)).mode & 0o100, `${exe} is executable`);
    }
    assert.ok(statSync(join(out, names[0]!, "environment", "setup.sh")).mode & 0o100);
    assert.equal(res.files, total);
    const marker = JSON.parse(readFileSync(join(out, EXPORT_MARKER), "utf8"));
    assert.equal(marker.tasks, 3);
    assert.equal(marker.complete, true);
    // The export is a corpus again: same rows, minus the truth.
    assert.deepEqual(
      corpusRows(out).map(noTruth),
      corpusRows(corpus).map(noTruth),
    );
    assert.ok(corpusRows(out).every((r) => r.truth === ""));

    // Re-export into the previous export with truth: generation/ is there now.
    await exportHarbor(corpus, out, { includeTruth: true });
    for (const name of names) assert.deepEqual(walk(join(out, name)), walk(join(corpus, name)));
    assert.deepEqual(corpusRows(out), corpusRows(corpus));
    // And without again: the previous generation/ does not linger.
    await exportHarbor(corpus, out, { includeTruth: false });
    for (const name of names) assert.ok(!existsSync(join(out, name, "generation")));

    const foreign = tempDir("tmax-export-foreign-");
    writeFileSync(join(foreign, "keep.txt"), "mine\n");
    await assert.rejects(exportHarbor(corpus, foreign, { includeTruth: false }), /not a previous tmax export/);
    await assert.rejects(exportHuggingFace(corpus, foreign, { format: "jsonl", includeTruth: false }), /not a previous tmax export/);
    assert.deepEqual(readdirSync(foreign), ["keep.txt"]);
  });

  test("JSONL export round-trips to corpusRows (without truth unless asked)", async () => {
    const rows = corpusRows(corpus);
    const out = join(tempDir("tmax-export-jsonl-"), "hf");
    const res = await exportHuggingFace(corpus, out, { format: "jsonl", includeTruth: false });
    assert.equal(res.rows, 3);
    const read = (): unknown[] => readFileSync(join(out, "data", "train.jsonl"), "utf8").trimEnd().split("\n").map((l) => JSON.parse(l));
    const lines = read();
    assert.deepEqual(lines, rows.map(noTruth));
    assert.ok(lines.every((l) => !Object.hasOwn(l as object, "truth")));
    assert.ok(!res.columns.includes("truth"));

    await exportHuggingFace(corpus, out, { format: "jsonl", includeTruth: true });
    assert.deepEqual(read(), rows);
    assert.ok(existsSync(join(out, "README.md")));
    assert.ok(existsSync(join(out, EXPORT_MARKER)));
  });

  test("Parquet export round-trips through readParquetRows, with explicit types, nulls and unicode", async () => {
    const rows = corpusRows(corpus);
    const jsonCols = ["primitive_skills", "environment_files", "pass_at_k"];
    const decode = (r: Record<string, unknown>): Record<string, unknown> =>
      Object.fromEntries(Object.entries(r).map(([k, v]) => [k, jsonCols.includes(k) && typeof v === "string" ? JSON.parse(v) : v]));
    for (const includeTruth of [false, true]) {
      const out = join(tempDir("tmax-export-parquet-"), "hf");
      await exportHuggingFace(corpus, out, { format: "parquet", includeTruth });
      const file = join(out, "data", "train-00000-of-00001.parquet");
      assert.ok(existsSync(file));
      assert.ok(!existsSync(join(out, "data", "train.jsonl")));
      const got = (await readParquetRows(file)).map(decode);
      assert.deepEqual(got, includeTruth ? rows : rows.map(noTruth));

      const md = await parquetMetadataAsync(await asyncBufferFromFile(file));
      const schema = new Map(md.schema.slice(1).map((e) => [e.name, e]));
      assert.equal(schema.has("truth"), includeTruth);
      assert.equal(Number(md.num_rows), 3);
      for (const c of ["instruction", "summary", "domain", "dockerfile", "solution"]) {
        assert.equal(schema.get(c)?.type, "BYTE_ARRAY", c);
        assert.equal(schema.get(c)?.converted_type, "UTF8", c);
        assert.equal(schema.get(c)?.repetition_type, "REQUIRED", c);
      }
      for (const c of jsonCols) {
        assert.equal(schema.get(c)?.type, "BYTE_ARRAY", c);
        assert.equal(schema.get(c)?.converted_type, "JSON", c);
      }
      for (const c of ["spec_seed", "seed"]) assert.equal(schema.get(c)?.type, "INT64", c);
      for (const c of ["cost_usd", "solve_accuracy"]) assert.equal(schema.get(c)?.type, "DOUBLE", c);
      for (const c of ["anchor", "cost_usd", "difficulty_tier", "solve_accuracy", "pass_at_k"]) assert.equal(schema.get(c)?.repetition_type, "OPTIONAL", c);
    }
    // Switching format in the same export directory replaces the data file.
    const out = join(tempDir("tmax-export-switch-"), "hf");
    await exportHuggingFace(corpus, out, { format: "jsonl", includeTruth: false });
    await exportHuggingFace(corpus, out, { format: "parquet", includeTruth: false });
    assert.deepEqual(readdirSync(join(out, "data")), ["train-00000-of-00001.parquet"]);
    // The unicode text survives byte for byte.
    const back = await readParquetRows(join(out, "data", "train-00000-of-00001.parquet"));
    assert.ok(String(back.find((r) => r.task_id === names[0])!.instruction).includes(UNICODE));
  });

  test("the dataset card has the YAML header, the columns and marginal tables that match the rows", async () => {
    const rows = corpusRows(corpus);
    const out = join(tempDir("tmax-export-card-"), "hf");
    await exportHuggingFace(corpus, out, { format: "parquet", includeTruth: false });
    const card = readFileSync(join(out, "README.md"), "utf8");
    const m = /^---\n([\s\S]*?)\n---\n/.exec(card);
    assert.ok(m, "front matter");
    const yaml = m[1]!;
    assert.ok(yaml.includes("configs:\n- config_name: default\n  data_files:\n  - split: train\n    path: data/train*"), yaml);
    assert.match(yaml, /^license: other$/m);
    assert.match(yaml, /^task_categories:\n- \S+/m);
    assert.match(yaml, /^tags:\n- /m);
    assert.match(yaml, /^size_categories:\n- n<1K$/m);

    const body = card.slice(m[0].length);
    for (const c of Object.keys(rows[0]!).filter((k) => k !== "truth")) assert.ok(body.includes(`| \`${c}\` |`), `column ${c} is listed`);
    assert.ok(!body.includes("| `truth` |"));
    assert.match(body, /\| `primitive_skills` \| JSON/);

    /** The rows of the markdown table under a heading. */
    const table = (heading: string): string[][] => {
      const at = body.indexOf(`\n${heading}\n`);
      assert.ok(at >= 0, `heading ${heading}`);
      const lines = body.slice(at + heading.length + 2).split("\n");
      const start = lines.findIndex((l) => l.startsWith("|"));
      const out: string[][] = [];
      for (const l of lines.slice(start + 2)) {
        if (!l.startsWith("|")) break;
        out.push(l.slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim()));
      }
      return out;
    };
    for (const axis of CARD_AXES) {
      const counts = new Map<string, number>();
      for (const r of rows) counts.set(r[axis], (counts.get(r[axis]) ?? 0) + 1);
      const got = table(`### ${axis}`);
      assert.equal(got.length, counts.size, axis);
      for (const [value, count, percent] of got) {
        assert.equal(Number(count), counts.get(value!), `${axis}=${value}`);
        assert.equal(percent, `${(((counts.get(value!) ?? 0) / rows.length) * 100).toFixed(1)}%`);
      }
    }
    assert.deepEqual(table("### domain").map((r) => r.slice(1)), [["2", "66.7%"], ["1", "33.3%"]]);
    const measures = new Map(table("### primitive skills, personas, anchors").map((r) => [r[0], r[1]]));
    assert.equal(measures.get("distinct primitive skills"), String(new Set(rows.flatMap((r) => r.primitive_skills)).size));
    assert.equal(measures.get("distinct personas (scenario)"), String(new Set(rows.map((r) => r.scenario)).size));
    assert.equal(measures.get("tasks with an anchor"), "2 (66.7%)");
    assert.deepEqual(table("## Difficulty tiers"), [["core", "1", "100.0%"]]);
  });

  test("genExportCommand: exit 0 with a summary on stdout; an empty corpus is an error (exit 1 with a message)", async () => {
    const lines: string[] = [];
    const orig = console.log;
    console.log = (...a: unknown[]) => void lines.push(a.join(" "));
    try {
      const out = join(tempDir("tmax-export-cmd-"), "ds");
      assert.equal(await genExportCommand(corpus, { format: "jsonl", output: out, includeTruth: false }), 0);
      assert.ok(existsSync(join(out, "data", "train.jsonl")));
      assert.match(lines.at(-1)!, /3 tasks .*jsonl/);
      const h = join(tempDir("tmax-export-cmd-"), "harbor");
      assert.equal(await genExportCommand(corpus, { format: "harbor", output: h, includeTruth: false }), 0);
      assert.match(lines.at(-1)!, /3 tasks .*harbor/);
    } finally {
      console.log = orig;
    }
    const empty = tempDir("tmax-export-empty-");
    await assert.rejects(genExportCommand(empty, { format: "parquet", output: join(empty, "out"), includeTruth: false }), /no tasks to export/);
    const cli = await runCli(["gen", "export", empty, "--format", "parquet", "-o", join(empty, "out")]);
    assert.equal(cli.code, 1);
    assert.match(cli.stderr, /tmax gen export: .*no tasks to export/);
    assert.ok(!existsSync(join(empty, "out")));
  });
});

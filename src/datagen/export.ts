import { existsSync, lstatSync, readdirSync, readFileSync } from "node:fs";
import { chmod, copyFile, lstat, mkdir, readdir, readlink, rm, symlink } from "node:fs/promises";
import { basename, isAbsolute, join, normalize, resolve, sep } from "node:path";
import { asyncBufferFromFile, parquetReadObjects } from "hyparquet";
import { parquetWriteBuffer, type BasicType, type ColumnSource } from "hyparquet-writer";
import { readCorpus, type CorpusTask } from "../store/corpus.js";
import { writeFileAtomic } from "../util/atomic-write.js";
import { tierRank } from "./tiers.js";

/**
 * Corpus exports (`tmax gen export`): a Harbor dataset directory (task directories as they are), or a Hugging Face
 * `datasets` repository layout (one row per task in JSONL or Parquet, plus a dataset card with the marginals of every
 * sampled axis).
 */

/** One task as a flat, typed row. */
export interface ExportRow {
  /** Task directory name. */
  task_id: string;
  /** [task].name of task.toml. */
  name: string;
  /** [task].description: the one-line task summary. */
  summary: string;
  /** instruction.md, verbatim. */
  instruction: string;
  /** generation/truth.md (hidden ground truth), or "" when absent. */
  truth: string;
  corpus_kind: string;
  domain: string;
  skill_type: string;
  primitive_skills: string[];
  task_complexity: string;
  command_complexity: string;
  verifier_kind: string;
  fixture_kind: string;
  /** The persona the task was written for. */
  scenario: string;
  language: string;
  anchor: string | null;
  spec_id: string;
  spec_seed: number;
  /** The run's seed. */
  seed: number;
  generator_model: string;
  cost_usd: number | null;
  /** environment/Dockerfile, or "" when absent. */
  dockerfile: string;
  /** The build context except the Dockerfile: path relative to environment/ → content. */
  environment_files: Record<string, string>;
  /** tests/test_initial_state.py, or "". */
  initial_test: string;
  /** tests/test_final_state.py, or "". */
  final_test: string;
  /** tests/test.sh, or "". */
  test_sh: string;
  /** solution/solve.sh, or "". */
  solution: string;
  /** Written by `tmax gen solve`; null when the task was not solved. */
  difficulty_tier: string | null;
  solve_accuracy: number | null;
  /** Unbiased pass@k by k ("1", "2", …); null when the task was not solved. */
  pass_at_k: Record<string, number> | null;
}

type ParquetType = "STRING" | "DOUBLE" | "INT64" | "JSON";

interface ColumnDef {
  name: keyof ExportRow;
  /** Type in the JSONL rows (and the TypeScript row). */
  json: string;
  /** Parquet column type (JSON = BYTE_ARRAY with the JSON converted type, holding UTF-8 JSON text). */
  parquet: ParquetType;
  nullable: boolean;
  doc: string;
}

/** The exported columns, in order. */
const EXPORT_COLUMNS: readonly ColumnDef[] = [
  { name: "task_id", json: "string", parquet: "STRING", nullable: false, doc: "task directory name" },
  { name: "name", json: "string", parquet: "STRING", nullable: false, doc: "`[task].name` of task.toml" },
  { name: "summary", json: "string", parquet: "STRING", nullable: false, doc: "one-line task summary (`[task].description`)" },
  { name: "instruction", json: "string", parquet: "STRING", nullable: false, doc: "the task as the agent sees it (instruction.md)" },
  { name: "truth", json: "string", parquet: "STRING", nullable: false, doc: "hidden ground truth behind the task (generation/truth.md; \"\" if absent); omitted from exports without truth" },
  { name: "corpus_kind", json: "string", parquet: "STRING", nullable: false, doc: "corpus kind the spec was drawn for" },
  { name: "domain", json: "string", parquet: "STRING", nullable: false, doc: "sampled domain" },
  { name: "skill_type", json: "string", parquet: "STRING", nullable: false, doc: "sampled skill type" },
  { name: "primitive_skills", json: "list[string]", parquet: "JSON", nullable: false, doc: "sampled primitive skills" },
  { name: "task_complexity", json: "string", parquet: "STRING", nullable: false, doc: "sampled task complexity" },
  { name: "command_complexity", json: "string", parquet: "STRING", nullable: false, doc: "sampled command complexity" },
  { name: "verifier_kind", json: "string", parquet: "STRING", nullable: false, doc: "sampled kind of final-state check" },
  { name: "fixture_kind", json: "string", parquet: "STRING", nullable: false, doc: "sampled kind of fixture data" },
  { name: "scenario", json: "string", parquet: "STRING", nullable: false, doc: "sampled persona the task is written for" },
  { name: "language", json: "string", parquet: "STRING", nullable: false, doc: "sampled programming language" },
  { name: "anchor", json: "string | null", parquet: "STRING", nullable: true, doc: "sampled anchor (a concrete real-world tool or situation), null if none was drawn" },
  { name: "spec_id", json: "string", parquet: "STRING", nullable: false, doc: "id of the spec the task was generated from" },
  { name: "spec_seed", json: "integer", parquet: "INT64", nullable: false, doc: "the spec's own seed (redraws the spec alone)" },
  { name: "seed", json: "integer", parquet: "INT64", nullable: false, doc: "the sampling run's seed" },
  { name: "generator_model", json: "string", parquet: "STRING", nullable: false, doc: "model that generated the task" },
  { name: "cost_usd", json: "number | null", parquet: "DOUBLE", nullable: true, doc: "generation cost in USD, null if unknown" },
  { name: "dockerfile", json: "string", parquet: "STRING", nullable: false, doc: "environment/Dockerfile" },
  { name: "environment_files", json: "object {path: content}", parquet: "JSON", nullable: false, doc: "other build-context files, by path relative to environment/" },
  { name: "initial_test", json: "string", parquet: "STRING", nullable: false, doc: "pytest file checking the initial state (tests/test_initial_state.py)" },
  { name: "final_test", json: "string", parquet: "STRING", nullable: false, doc: "pytest file checking the final state (tests/test_final_state.py)" },
  { name: "test_sh", json: "string", parquet: "STRING", nullable: false, doc: "verifier entry point (tests/test.sh): runs the final test, writes the reward" },
  { name: "solution", json: "string", parquet: "STRING", nullable: false, doc: "reference solution (solution/solve.sh)" },
  { name: "difficulty_tier", json: "string | null", parquet: "STRING", nullable: true, doc: "difficulty tier from `tmax gen solve`, null if not solved" },
  { name: "solve_accuracy", json: "number | null", parquet: "DOUBLE", nullable: true, doc: "share of successful solve attempts, null if not solved" },
  { name: "pass_at_k", json: "object {k: number} | null", parquet: "JSON", nullable: true, doc: "unbiased pass@k by k, null if not solved" },
];

/** The sampled axes the dataset card tabulates. */
export const CARD_AXES = ["domain", "skill_type", "task_complexity", "command_complexity", "verifier_kind", "fixture_kind", "language", "corpus_kind"] as const;

/** Written into every export directory; an export refuses a non-empty directory without it. */
export const EXPORT_MARKER = ".tmax-export.json";

export type HfFormat = "jsonl" | "parquet";

export interface HarborExportResult {
  outDir: string;
  tasks: number;
  files: number;
  includeTruth: boolean;
}

export interface HuggingFaceExportResult {
  outDir: string;
  format: HfFormat;
  rows: number;
  /** The data file written (data/train.jsonl or data/train-00000-of-00001.parquet). */
  dataFile: string;
  readme: string;
  columns: string[];
  includeTruth: boolean;
}

// ---------------------------------------------------------------- rows

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Build-context files of environment/ except the top-level Dockerfile, by posix path, in path order. */
function environmentFiles(taskDir: string): Record<string, string> {
  const root = join(taskDir, "environment");
  const out: Record<string, string> = {};
  if (!existsSync(root)) return out;
  const walk = (rel: string): void => {
    const entries = readdirSync(join(root, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else if (r !== "Dockerfile" && lstatSync(join(root, r)).isFile()) out[r] = readFileSync(join(root, r), "utf8");
    }
  };
  walk("");
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The row of one corpus task. Axes come from [metadata], falling back to generation/spec.json. */
function taskRow(task: CorpusTask): ExportRow {
  const m = task.metadata;
  const spec = task.spec;
  const need = <T>(key: string, value: T | undefined): T => {
    if (value !== undefined) return value;
    throw new Error(`${task.path("task.toml")}: [metadata] has no ${key} (and generation/spec.json does not give it)`);
  };
  const instruction = task.file("instruction.md");
  if (instruction === null) throw new Error(`${task.path("instruction.md")}: missing`);
  return {
    task_id: task.name,
    name: task.config.task?.name ?? "",
    summary: task.config.task?.description ?? "",
    instruction,
    truth: task.file("generation/truth.md") ?? "",
    corpus_kind: need("corpus_kind", m.corpus_kind ?? spec?.corpus_kind),
    domain: need("domain", m.domain ?? spec?.domain),
    skill_type: need("skill_type", m.skill_type ?? spec?.skill_type),
    primitive_skills: [...need("primitive_skills", m.primitive_skills ?? spec?.skills)],
    task_complexity: need("task_complexity", m.task_complexity ?? spec?.task_complexity),
    command_complexity: need("command_complexity", m.command_complexity ?? spec?.command_complexity),
    verifier_kind: need("verifier_kind", m.verifier_kind ?? spec?.verifier_kind),
    fixture_kind: need("fixture_kind", m.fixture_kind ?? spec?.fixture_kind),
    scenario: need("scenario", m.scenario ?? spec?.persona),
    language: need("language", m.language ?? spec?.language),
    anchor: m.anchor ?? spec?.anchor ?? null,
    spec_id: need("spec_id", m.spec_id ?? spec?.id),
    spec_seed: need("spec_seed", m.spec_seed ?? spec?.spec_seed),
    seed: need("seed", m.seed ?? spec?.seed),
    generator_model: m.generator_model ?? "",
    cost_usd: m.cost_usd ?? null,
    dockerfile: task.file("environment/Dockerfile") ?? "",
    environment_files: environmentFiles(task.dir),
    initial_test: task.file("tests/test_initial_state.py") ?? "",
    final_test: task.file("tests/test_final_state.py") ?? "",
    test_sh: task.file("tests/test.sh") ?? "",
    solution: task.file("solution/solve.sh") ?? "",
    difficulty_tier: m.difficulty_tier ?? null,
    solve_accuracy: m.solve ? (m.solve.accuracy ?? null) : null,
    pass_at_k: m.solve?.pass_at_k ? { ...m.solve.pass_at_k } : null,
  };
}

/** One row per task of the corpus, in task-name order. */
export function corpusRows(corpusDir: string): ExportRow[] {
  return readCorpus(corpusDir).tasks().map(taskRow);
}

/** A row without the truth column. */
export function withoutTruth(row: ExportRow): Omit<ExportRow, "truth"> {
  const { truth: _truth, ...rest } = row;
  return rest;
}

// ---------------------------------------------------------------- output directory

interface ExportMarker {
  tool: "tmax";
  format: "harbor" | HfFormat;
  corpus: string;
  exported_at: string;
  complete: boolean;
  include_truth: boolean;
  tasks: number;
  files: number;
  /** Paths (relative to the export directory) this export wrote; a re-export removes them first. */
  entries: string[];
}

function safeEntry(outDir: string, rel: unknown): string | null {
  if (typeof rel !== "string" || rel === "" || isAbsolute(rel)) return null;
  const n = normalize(rel);
  if (n === "." || n === ".." || n.startsWith(`..${sep}`)) return null;
  return join(outDir, n);
}

/**
 * Makes outDir ready: created when missing; an empty directory is used as is; a previous tmax export has what it
 * wrote removed (other files, e.g. .git, stay); anything else is refused.
 */
async function prepareOutDir(outDir: string): Promise<void> {
  if (!existsSync(outDir)) {
    await mkdir(outDir, { recursive: true });
    return;
  }
  if (!lstatSync(outDir).isDirectory()) throw new Error(`${outDir}: exists and is not a directory`);
  if (readdirSync(outDir).length === 0) return;
  const markerPath = join(outDir, EXPORT_MARKER);
  if (!existsSync(markerPath)) {
    throw new Error(`${outDir}: not empty and not a previous tmax export (no ${EXPORT_MARKER}); choose a new or empty directory`);
  }
  let marker: unknown;
  try {
    marker = JSON.parse(readFileSync(markerPath, "utf8"));
  } catch (err) {
    throw new Error(`${markerPath}: unreadable export marker (${(err as Error).message}); remove the directory or choose another`, { cause: err });
  }
  if (!isRecord(marker) || marker.tool !== "tmax" || !Array.isArray(marker.entries)) {
    throw new Error(`${markerPath}: not a tmax export marker; remove the directory or choose another`);
  }
  for (const rel of marker.entries) {
    const p = safeEntry(outDir, rel);
    if (p) await rm(p, { recursive: true, force: true });
  }
}

async function writeMarker(outDir: string, m: ExportMarker): Promise<void> {
  await writeFileAtomic(join(outDir, EXPORT_MARKER), JSON.stringify(m, null, 2) + "\n");
}

function nonEmptyTasks(corpusDir: string): readonly CorpusTask[] {
  const tasks = readCorpus(corpusDir).tasks();
  if (tasks.length === 0) throw new Error(`${corpusDir}: no tasks to export (no task directory with a task.toml)`);
  return tasks;
}

// ---------------------------------------------------------------- Harbor

/** Copies a tree; files keep their permission bits, symlinks stay symlinks. Returns the number of files copied. */
async function copyTree(src: string, dst: string, skip: (rel: string) => boolean, rel = ""): Promise<number> {
  const st = await lstat(src);
  if (st.isSymbolicLink()) {
    await symlink(await readlink(src), dst);
    return 1;
  }
  if (st.isDirectory()) {
    await mkdir(dst, { recursive: true });
    let n = 0;
    for (const name of (await readdir(src)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      if (skip(r)) continue;
      n += await copyTree(join(src, name), join(dst, name), skip, r);
    }
    await chmod(dst, st.mode & 0o7777);
    return n;
  }
  if (!st.isFile()) return 0;
  await copyFile(src, dst);
  await chmod(dst, st.mode & 0o7777);
  return 1;
}

/**
 * A Harbor dataset: every task directory of the corpus copied as is (all files, modes kept), without generation/
 * (hidden truth and spec) unless includeTruth.
 */
export async function exportHarbor(corpusDir: string, outDir: string, opts: { includeTruth: boolean }): Promise<HarborExportResult> {
  const corpus = resolve(corpusDir);
  const out = resolve(outDir);
  const tasks = nonEmptyTasks(corpus);
  for (const t of tasks) {
    const d = resolve(t.dir);
    if (out === d || out.startsWith(d + sep)) throw new Error(`${out}: is inside task ${t.name} of the corpus; choose a directory outside it`);
  }
  await prepareOutDir(out);
  const marker: ExportMarker = {
    tool: "tmax",
    format: "harbor",
    corpus,
    exported_at: new Date().toISOString(),
    complete: false,
    include_truth: opts.includeTruth,
    tasks: tasks.length,
    files: 0,
    entries: tasks.map((t) => t.name),
  };
  await writeMarker(out, marker);
  let files = 0;
  for (const t of tasks) {
    files += await copyTree(t.dir, join(out, t.name), (rel) => !opts.includeTruth && rel === "generation");
  }
  await writeMarker(out, { ...marker, complete: true, files, exported_at: new Date().toISOString() });
  return { outDir: out, tasks: tasks.length, files, includeTruth: opts.includeTruth };
}

// ---------------------------------------------------------------- Hugging Face

const JSONL_FILE = "data/train.jsonl";
const PARQUET_FILE = "data/train-00000-of-00001.parquet";

function columnsFor(includeTruth: boolean): ColumnDef[] {
  return EXPORT_COLUMNS.filter((c) => includeTruth || c.name !== "truth");
}

function isSafeIntegerColumn(rows: ExportRow[], key: keyof ExportRow): boolean {
  return rows.every((r) => Number.isSafeInteger(r[key]));
}

/** The Parquet bytes of the rows (types per EXPORT_COLUMNS; integer columns fall back to DOUBLE if any value is not an integer). */
function parquetBuffer(rows: ExportRow[], includeTruth: boolean): ArrayBuffer {
  const columnData: ColumnSource[] = columnsFor(includeTruth).map((c) => {
    const type: BasicType = c.parquet === "INT64" && !isSafeIntegerColumn(rows, c.name) ? "DOUBLE" : c.parquet;
    const data = rows.map((r) => r[c.name]);
    return { name: c.name, data: type === "INT64" ? data.map((v) => BigInt(v as number)) : data, type, nullable: c.nullable };
  });
  return parquetWriteBuffer({ columnData, createdBy: "tmax gen export (hyparquet-writer)", kvMetadata: [{ key: "tmax.json_columns", value: "primitive_skills,environment_files,pass_at_k" }] });
}

/** Reads a Parquet file back into row objects (JSON columns decoded, INT64 values as numbers when they fit). */
export async function readParquetRows(path: string): Promise<Record<string, unknown>[]> {
  const file = await asyncBufferFromFile(path);
  const rows = (await parquetReadObjects({ file })) as Record<string, unknown>[];
  return rows.map((r) =>
    Object.fromEntries(
      Object.entries(r).map(([k, v]) => [k, typeof v === "bigint" && v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v]),
    ),
  );
}

/** Hugging Face size category of a row count. */
function sizeCategory(n: number): string {
  const bounds: [number, string][] = [
    [1e3, "n<1K"],
    [1e4, "1K<n<10K"],
    [1e5, "10K<n<100K"],
    [1e6, "100K<n<1M"],
    [1e7, "1M<n<10M"],
    [1e8, "10M<n<100M"],
    [1e9, "100M<n<1B"],
    [1e10, "1B<n<10B"],
    [1e11, "10B<n<100B"],
    [1e12, "100B<n<1T"],
  ];
  for (const [b, label] of bounds) if (n < b) return label;
  return "n>1T";
}

function pct(count: number, total: number): string {
  return `${((count / Math.max(1, total)) * 100).toFixed(1)}%`;
}

function cell(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

/** Counts per value, most frequent first (ties by value). */
function valueCounts(values: string[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

function countTable(header: string, counts: [string, number][], total: number): string {
  const lines = [`| ${header} | count | % |`, "|---|---:|---:|"];
  for (const [v, c] of counts) lines.push(`| ${cell(v)} | ${c} | ${pct(c, total)} |`);
  return lines.join("\n");
}

function yamlString(s: string): string {
  return JSON.stringify(s);
}

/** The dataset card (README.md with YAML front matter) of an export. */
function datasetCard(rows: ExportRow[], tasks: readonly CorpusTask[], o: { format: HfFormat; includeTruth: boolean; title: string }): string {
  const n = rows.length;
  const out: string[] = [];
  out.push(
    "---",
    `pretty_name: ${yamlString(o.title)}`,
    "license: other",
    "language:",
    "- en",
    "task_categories:",
    "- text-generation",
    "tags:",
    "- tmax",
    "- terminal",
    "- agents",
    "- shell",
    "- docker",
    "- synthetic",
    "- code",
    "size_categories:",
    `- ${sizeCategory(n)}`,
    "configs:",
    "- config_name: default",
    "  data_files:",
    "  - split: train",
    "    path: data/train*",
    "---",
    "",
    `# ${o.title}`,
    "",
    `A corpus of ${n} terminal tasks generated by tmax (\`tmax gen build\`). Each row is one ` +
      "task for an agent working in a shell inside a Docker container: the instruction the agent reads, the Dockerfile and " +
      "build-context files of its environment, a pytest file checking the initial state, the hidden pytest file that grades " +
      "the final state, the verifier entry point (`test.sh`, which writes the reward) and a reference solution.",
    "",
    "## How it was made",
    "",
    "1. **Sampling.** Each task starts from a spec drawn independently from the axes of a taxonomy (domain, skill type, " +
      "primitive skills, task and command complexity, verifier kind, fixture kind, persona, language, optional anchor) " +
      "with a seeded RNG; `spec_id`, `spec_seed` and `seed` redraw it exactly.",
    "2. **Generation.** An LLM wrote the task from the spec in stages: instruction, summary and hidden truth; the " +
      "environment (Dockerfile, fixtures, initial-state test); the final-state test; a reference solution.",
    "3. **Validation.** tmax keeps a task only after running it in containers: the image must build, the initial-state test must " +
      "pass, the final-state test must fail on the untouched environment (no-op reward 0) and pass after the reference " +
      "solution (oracle reward 1). Failures went back to the model for repair; tasks that still failed were dropped.",
  );
  const models = valueCounts(rows.map((r) => r.generator_model).filter((m) => m !== ""));
  const costs = rows.map((r) => r.cost_usd).filter((c): c is number => c !== null);
  const validated = tasks.flatMap((t) => (t.metadata.validation ? [t.metadata.validation] : []));
  const passed = validated.filter((v) => v.image_built && v.oracle_reward === 1 && v.nop_reward === 0);
  const facts: string[] = [];
  if (models.length) facts.push(`Generator model${models.length > 1 ? "s" : ""}: ${models.map(([m, c]) => `\`${m}\` (${c})`).join(", ")}.`);
  if (costs.length) facts.push(`Generation cost: $${costs.reduce((a, b) => a + b, 0).toFixed(2)} over ${costs.length} task${costs.length === 1 ? "" : "s"} with a known cost.`);
  facts.push(
    passed.length === n
      ? `All ${n} tasks carry a passing validation record (image built, oracle reward 1, no-op reward 0).`
      : `${passed.length} of ${n} tasks carry a passing validation record (image built, oracle reward 1, no-op reward 0); ${n - validated.length} without any.`,
  );
  const seeds = [...new Set(rows.map((r) => r.seed))].sort((a, b) => a - b);
  facts.push(`Sampling seed${seeds.length > 1 ? "s" : ""}: ${seeds.join(", ")}.`);
  out.push("", ...facts);
  out.push(
    "",
    o.includeTruth
      ? "This export **includes** the hidden ground truth (`truth`): keep it out of any agent's context."
      : "The hidden ground truth (`truth`) is **not** included in this export.",
  );

  out.push("", "## Columns", "");
  if (o.format === "parquet") {
    out.push(
      `Data: \`${PARQUET_FILE}\`. Columns typed \`JSON\` are Parquet BYTE_ARRAY columns with the JSON converted type; ` +
        "they hold UTF-8 JSON text (decode with `json.loads` if your reader returns a string). Integer columns are INT64.",
    );
  } else {
    out.push(`Data: \`${JSONL_FILE}\`, one JSON object per line.`);
  }
  out.push("", "| column | type | nullable | description |", "|---|---|---|---|");
  for (const c of columnsFor(o.includeTruth)) {
    const type = o.format === "parquet" ? (c.parquet === "JSON" ? `JSON (${c.json.replace(/ \| null$/, "")})` : c.parquet) : c.json.replace(/ \| null$/, "");
    out.push(`| \`${c.name}\` | ${cell(type)} | ${c.nullable ? "yes" : "no"} | ${cell(c.doc)} |`);
  }

  out.push("", "## Sampled axes", "", `Marginals over the ${n} tasks (count and share of tasks).`);
  for (const axis of CARD_AXES) {
    out.push("", `### ${axis}`, "", countTable(axis, valueCounts(rows.map((r) => r[axis])), n));
  }
  const skills = rows.flatMap((r) => r.primitive_skills);
  const distinctSkills = new Set(skills).size;
  const distinctPersonas = new Set(rows.map((r) => r.scenario)).size;
  const anchored = rows.filter((r) => r.anchor !== null).length;
  out.push(
    "",
    "### primitive skills, personas, anchors",
    "",
    "| measure | value |",
    "|---|---:|",
    `| distinct primitive skills | ${distinctSkills} |`,
    `| primitive skills per task (mean) | ${(skills.length / Math.max(1, n)).toFixed(2)} |`,
    `| distinct personas (scenario) | ${distinctPersonas} |`,
    `| tasks with an anchor | ${anchored} (${pct(anchored, n)}) |`,
  );

  const tiered = rows.filter((r) => r.difficulty_tier !== null);
  if (tiered.length) {
    const counts = valueCounts(tiered.map((r) => r.difficulty_tier!)).sort((a, b) => tierRank(a[0]) - tierRank(b[0]) || (a[0] < b[0] ? -1 : 1));
    out.push("", "## Difficulty tiers", "", `From \`tmax gen solve\` (reference agent runs) on ${tiered.length} of ${n} tasks; shares are of the tiered tasks.`, "", countTable("difficulty_tier", counts, tiered.length));
    const solvers = valueCounts(
      tasks.flatMap((t) => {
        const s = t.metadata.solve;
        return s ? [[s.agent, s.model].filter((x) => x !== undefined).join(" / ")] : [];
      }),
    );
    if (solvers.length) out.push("", `Solved with: ${solvers.map(([s, c]) => `\`${s}\` (${c})`).join(", ")}.`);
    const acc = rows.map((r) => r.solve_accuracy).filter((a): a is number => a !== null);
    if (acc.length) out.push("", `Mean solve accuracy: ${(acc.reduce((a, b) => a + b, 0) / acc.length).toFixed(3)} over ${acc.length} task${acc.length === 1 ? "" : "s"}.`);
  }

  out.push(
    "",
    "## Loading",
    "",
    "```python",
    "from datasets import load_dataset",
    'ds = load_dataset("path/or/repo-id", split="train")',
    ...(o.format === "parquet" ? ["import json", 'files = json.loads(ds[0]["environment_files"])  # if returned as text'] : []),
    "```",
    "",
    "To run a task, write `dockerfile` and `environment_files` into `environment/`, the tests into `tests/` and " +
      "`instruction` into `instruction.md` (or use the Harbor export: `tmax gen export --format harbor`).",
    "",
    "## License",
    "",
    "`other`: set the license of this dataset before publishing it.",
    "",
  );
  return out.join("\n");
}

/**
 * A Hugging Face `datasets` repository layout: data/train.jsonl or data/train-00000-of-00001.parquet and a dataset
 * card (README.md). Without includeTruth the truth column is left out.
 */
export async function exportHuggingFace(corpusDir: string, outDir: string, opts: { format: HfFormat; includeTruth: boolean }): Promise<HuggingFaceExportResult> {
  const corpus = resolve(corpusDir);
  const out = resolve(outDir);
  const tasks = nonEmptyTasks(corpus);
  const rows = tasks.map(taskRow);
  const dataRel = opts.format === "jsonl" ? JSONL_FILE : PARQUET_FILE;
  // Build everything before touching the output directory.
  const data: string | Uint8Array =
    opts.format === "jsonl"
      ? rows.map((r) => JSON.stringify(opts.includeTruth ? r : withoutTruth(r))).join("\n") + "\n"
      : new Uint8Array(parquetBuffer(rows, opts.includeTruth));
  const card = datasetCard(rows, tasks, { format: opts.format, includeTruth: opts.includeTruth, title: `${basename(corpus)} (tmax terminal tasks)` });
  await prepareOutDir(out);
  const marker: ExportMarker = {
    tool: "tmax",
    format: opts.format,
    corpus,
    exported_at: new Date().toISOString(),
    complete: false,
    include_truth: opts.includeTruth,
    tasks: rows.length,
    files: 2,
    entries: [dataRel, "README.md"],
  };
  await writeMarker(out, marker);
  await writeFileAtomic(join(out, dataRel), data);
  await writeFileAtomic(join(out, "README.md"), card);
  await writeMarker(out, { ...marker, complete: true, exported_at: new Date().toISOString() });
  return {
    outDir: out,
    format: opts.format,
    rows: rows.length,
    dataFile: join(out, dataRel),
    readme: join(out, "README.md"),
    columns: columnsFor(opts.includeTruth).map((c) => c.name),
    includeTruth: opts.includeTruth,
  };
}

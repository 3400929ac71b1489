import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import type { z } from "zod";
import { tomlField } from "../task/problems.js";
import { parseTomlDocument } from "../util/toml.js";
import {
  corpusTaskTomlSchema,
  manifestEntrySchema,
  taskSpecSchema,
  type CorpusTaskToml,
  type GeneratedMetadata,
  type ManifestEntry,
  type TaskSpec,
} from "./corpus-schema.js";

/**
 * The read side of a generated corpus directory:
 *
 * ```
 * corpus/
 *   manifest.jsonl      one line per finished spec (the last line for a spec wins)
 *   task_…/             accepted tasks: Harbor task dirs (task.toml with [metadata], generation/spec.json, …)
 *   .gen/spec_…/        checkpoints of specs in progress (and of finished ones)
 *   .removed/task_…/    tasks `gen decontam --remove` moved aside
 * ```
 *
 * Everything is read when first asked for and validated against the schemas of corpus-schema.ts; problems are
 * CorpusReadErrors naming the file (and line) and the field. A view is a snapshot: read the corpus again after
 * changing it.
 */

export const MANIFEST_FILE = "manifest.jsonl";
/** Checkpoints of `gen build` (one directory per spec). */
export const GEN_DIR = ".gen";
/** Where `gen decontam --remove` moves contaminated tasks. */
export const REMOVED_DIR = ".removed";

export class CorpusReadError extends Error {
  override name = "CorpusReadError";
}

/** A generated task in a corpus directory. task.toml and generation/spec.json are read on first access. */
export interface CorpusTask {
  /** Directory name (task_<index>_<hex>). */
  readonly name: string;
  readonly dir: string;
  /** task.toml exactly as parsed, every key kept (for writers that rewrite it). */
  readonly toml: Record<string, unknown>;
  /** The typed view of task.toml: `[task]` name and description, validated `[metadata]`. */
  readonly config: CorpusTaskToml;
  /** The validated `[metadata]` (empty when the table is missing). */
  readonly metadata: GeneratedMetadata;
  /** generation/spec.json, validated; null when the file is missing. */
  readonly spec: TaskSpec | null;
  /** Absolute path of a file of the task. */
  path(rel: string): string;
  has(rel: string): boolean;
  /** A text file of the task, or null when it does not exist. */
  file(rel: string): string | null;
}

/** A corpus directory. Every part is read on first use and then kept. */
export interface Corpus {
  readonly dir: string;
  readonly manifestPath: string;
  /**
   * The manifest, by spec id, in order of each spec's first line; the last line for a spec wins. Empty when there is
   * no manifest yet. A malformed line is an error naming its number, except a last line cut by a crash mid-append.
   */
  manifest(): ReadonlyMap<string, ManifestEntry>;
  /** Task directories (children with a task.toml; hidden ones like .gen and .removed are skipped), in name order. */
  tasks(): readonly CorpusTask[];
  /** Spec ids with a checkpoint in .gen but no manifest line yet (in progress or interrupted), sorted. */
  inProgress(): string[];
}

/** A zod issue's message without zod's generic prefix. */
function issueText(issue: z.core.$ZodIssue): string {
  return issue.message.replace(/^Invalid input: /, "");
}

/** A JSON path as `a.b[0].c`. */
function jsonField(path: readonly PropertyKey[]): string {
  if (path.length === 0) return "(root)";
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join("");
}

function parseJsonLine(path: string, lineNo: number, line: string): unknown {
  try {
    return JSON.parse(line);
  } catch (err) {
    throw new CorpusReadError(`${path}:${lineNo}: not valid JSON (${(err as Error).message})`);
  }
}

/** Reads a manifest file (see Corpus.manifest). */
function readManifestFile(path: string): Map<string, ManifestEntry> {
  const out = new Map<string, ManifestEntry>();
  if (!existsSync(path)) return out;
  const lines = readFileSync(path, "utf8").split("\n");
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let data: unknown;
    try {
      data = parseJsonLine(path, i + 1, line);
    } catch (err) {
      // A line cut by a crash mid-append is the only expected damage; it is the last one.
      if (i >= lines.length - 2) return;
      throw err;
    }
    const parsed = manifestEntrySchema.safeParse(data);
    if (!parsed.success) {
      const problems = parsed.error.issues.slice(0, 5).map((issue) => `${path}:${i + 1}: ${jsonField(issue.path)}: ${issueText(issue)}`);
      throw new CorpusReadError(problems.join("\n"));
    }
    out.set(parsed.data.spec_id, parsed.data);
  });
  return out;
}

/** One spec, validated; `where` prefixes every problem (file, or file:line). */
function parseSpec(data: unknown, where: string): TaskSpec {
  if (typeof data !== "object" || data === null || Array.isArray(data)) throw new CorpusReadError(`${where}: a spec must be a JSON object`);
  const parsed = taskSpecSchema.safeParse(data);
  if (parsed.success) return parsed.data;
  const raw = data as Record<string, unknown>;
  const problems = parsed.error.issues.slice(0, 5).map((issue) => {
    const key = issue.path[0];
    if (issue.path.length === 1 && typeof key === "string" && raw[key] === undefined) {
      return `${where}: spec has no "${key}" (was it written by \`tmax gen sample\`?)`;
    }
    return `${where}: ${jsonField(issue.path)}: ${issueText(issue)}`;
  });
  throw new CorpusReadError(problems.join("\n"));
}

/** Reads a specs file (JSONL, as `tmax gen sample` writes it); errors name the line and the field. */
export function readSpecs(path: string): TaskSpec[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new CorpusReadError(`${path}: cannot read the specs file`);
  }
  const specs: TaskSpec[] = [];
  text.split("\n").forEach((line, i) => {
    if (!line.trim()) return;
    specs.push(parseSpec(parseJsonLine(path, i + 1, line), `${path}:${i + 1}`));
  });
  const ids = new Set<string>();
  for (const s of specs) {
    if (ids.has(s.id)) throw new CorpusReadError(`${path}: spec id ${s.id} appears twice`);
    ids.add(s.id);
  }
  return specs;
}

class LazyCorpusTask implements CorpusTask {
  readonly name: string;
  private parsed: { toml: Record<string, unknown>; config: CorpusTaskToml } | null = null;
  private specRead: { spec: TaskSpec | null } | null = null;

  constructor(readonly dir: string) {
    this.name = basename(dir);
  }

  private read(): { toml: Record<string, unknown>; config: CorpusTaskToml } {
    if (this.parsed) return this.parsed;
    const path = this.path("task.toml");
    let toml: Record<string, unknown>;
    try {
      toml = parseTomlDocument(readFileSync(path, "utf8"));
    } catch (err) {
      throw new CorpusReadError(`${path}: ${(err as Error).message.split("\n")[0]}`);
    }
    const checked = corpusTaskTomlSchema.safeParse(toml);
    if (!checked.success) {
      throw new CorpusReadError(checked.error.issues.slice(0, 5).map((issue) => `${path}: ${tomlField(issue.path)}: ${issueText(issue)}`).join("\n"));
    }
    this.parsed = { toml, config: checked.data };
    return this.parsed;
  }

  get toml(): Record<string, unknown> {
    return this.read().toml;
  }

  get config(): CorpusTaskToml {
    return this.read().config;
  }

  get metadata(): GeneratedMetadata {
    return this.config.metadata ?? {};
  }

  get spec(): TaskSpec | null {
    if (this.specRead) return this.specRead.spec;
    const path = this.path("generation/spec.json");
    let spec: TaskSpec | null = null;
    if (existsSync(path)) {
      let data: unknown;
      try {
        data = JSON.parse(readFileSync(path, "utf8"));
      } catch (err) {
        throw new CorpusReadError(`${path}: not valid JSON (${(err as Error).message})`);
      }
      spec = parseSpec(data, path);
    }
    this.specRead = { spec };
    return spec;
  }

  path(rel: string): string {
    return join(this.dir, rel);
  }

  has(rel: string): boolean {
    return existsSync(this.path(rel));
  }

  file(rel: string): string | null {
    const p = this.path(rel);
    return existsSync(p) ? readFileSync(p, "utf8") : null;
  }
}

/** One corpus task directory (read lazily, like the tasks of readCorpus). */
export function readCorpusTask(dir: string): CorpusTask {
  return new LazyCorpusTask(dir);
}

class LazyCorpus implements Corpus {
  readonly manifestPath: string;
  private manifestCache: Map<string, ManifestEntry> | null = null;
  private tasksCache: CorpusTask[] | null = null;

  constructor(readonly dir: string) {
    this.manifestPath = join(dir, MANIFEST_FILE);
  }

  manifest(): ReadonlyMap<string, ManifestEntry> {
    this.manifestCache ??= readManifestFile(this.manifestPath);
    return this.manifestCache;
  }

  tasks(): readonly CorpusTask[] {
    if (this.tasksCache) return this.tasksCache;
    if (!existsSync(this.dir)) throw new CorpusReadError(`${this.dir}: no such corpus directory`);
    this.tasksCache = readdirSync(this.dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && !e.name.startsWith(".") && existsSync(join(this.dir, e.name, "task.toml")))
      .map((e) => e.name)
      .sort()
      .map((name) => readCorpusTask(join(this.dir, name)));
    return this.tasksCache;
  }

  inProgress(): string[] {
    const gen = join(this.dir, GEN_DIR);
    if (!existsSync(gen)) return [];
    const finished = this.manifest();
    return readdirSync(gen, { withFileTypes: true })
      .filter((e) => e.isDirectory() && e.name.startsWith("spec_") && !finished.has(e.name))
      .map((e) => e.name)
      .sort();
  }
}

/** A lazy, validated view of a corpus directory (see the module comment). */
export function readCorpus(dir: string): Corpus {
  return new LazyCorpus(dir);
}

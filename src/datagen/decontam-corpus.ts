import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, rename } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { readCorpus, REMOVED_DIR } from "../store/corpus.js";
import { writeFileAtomic } from "../util/atomic-write.js";
import { utcIso } from "../util/time.js";
import { appendManifest } from "./corpus-write.js";
import { contaminatedIds, decontaminate, reportCsv, reportMarkdown, type Benchmark, type DecontamReport, type TextDoc } from "./decontam.js";

/**
 * `tmax gen decontam` on a corpus directory: reads the task descriptions and the benchmark instructions, compares
 * them (decontam.ts), writes report.{json,csv,md}, and with `remove` filters the corpus: flagged tasks are moved to
 * corpus/.removed/ and recorded in the manifest as rejected (reason "contaminated", stage "decontam").
 */

/** A benchmark's documents: the instruction.md of each task under `dir` (or of `dir` itself, when it is one task). */
export function readBenchmark(dir: string): Benchmark {
  const root = resolve(dir);
  if (!existsSync(root)) throw new Error(`${dir}: no such benchmark directory`);
  const docs: TextDoc[] = [];
  if (existsSync(join(root, "instruction.md"))) docs.push({ id: basename(root), text: readFileSync(join(root, "instruction.md"), "utf8") });
  else {
    for (const e of readdirSync(root, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(root, e.name, "instruction.md");
      if (e.isDirectory() && existsSync(p)) docs.push({ id: e.name, text: readFileSync(p, "utf8") });
    }
  }
  if (docs.length === 0) throw new Error(`${dir}: no task instructions found (expected <task>/instruction.md)`);
  return { name: basename(root), docs };
}

/**
 * Moves the tasks flagged at n to corpus/.removed/ (moved aside, not deleted: nothing is lost, and the corpus no
 * longer lists them) and appends a rejected manifest line for each (its last entry, with reason "contaminated").
 * Returns the names of the removed tasks, in name order.
 */
export async function removeContaminatedTasks(corpusDir: string, report: DecontamReport, n: number): Promise<string[]> {
  const corpus = readCorpus(corpusDir);
  const flagged = contaminatedIds(report, n);
  const entries = [...corpus.manifest().values()];
  const removed: string[] = [];
  await mkdir(join(corpusDir, REMOVED_DIR), { recursive: true });
  for (const t of corpus.tasks()) {
    if (!flagged.has(t.name)) continue;
    await rename(t.dir, join(corpusDir, REMOVED_DIR, t.name));
    removed.push(t.name);
    const entry = entries.find((e) => e.task === t.name);
    if (entry) {
      const hit = report.flagged.find((f) => f.id === t.name)?.flags.find((f) => f.n === n);
      appendManifest(corpusDir, {
        ...entry,
        status: "rejected",
        reason: "contaminated",
        stage: "decontam",
        detail: `${n}-gram overlap with ${hit?.benchmark ?? "a benchmark"}: ${hit?.examples[0] ?? ""}`,
        task: null,
        finished_at: utcIso(),
      });
    }
  }
  return removed;
}

export interface DecontamCorpusOptions {
  /** Benchmark task directories (each: tasks with an instruction.md, or one task). */
  against: string[];
  /** n-gram sizes to report. */
  ns: number[];
  /** Remove the tasks flagged at `removeN`. */
  remove: boolean;
  removeN: number;
  /** Report directory (default: corpus/decontam). */
  outDir?: string;
}

/** report.json: the report plus what was removed. */
export interface DecontamCorpusResult extends DecontamReport {
  removed: string[];
  removeN: number | null;
  corpus: string;
  generatedAt: string;
}

/** Compares every task's instruction.md with the benchmarks, writes the reports and (with `remove`) filters. */
export async function decontaminateCorpus(corpusDir: string, o: DecontamCorpusOptions): Promise<{ result: DecontamCorpusResult; outDir: string }> {
  const corpus = resolve(corpusDir);
  const tasks = readCorpus(corpus).tasks();
  const docs: TextDoc[] = tasks.map((t) => ({ id: t.name, text: readFileSync(t.path("instruction.md"), "utf8") }));
  const benchmarks = o.against.map(readBenchmark);
  const ns = [...new Set([...o.ns, o.removeN])].sort((a, b) => b - a);
  const report = decontaminate(docs, benchmarks, ns);
  const outDir = resolve(o.outDir ?? join(corpus, "decontam"));
  await mkdir(outDir, { recursive: true });
  const removed = o.remove ? await removeContaminatedTasks(corpus, report, o.removeN) : [];
  const result: DecontamCorpusResult = { ...report, removed, removeN: o.remove ? o.removeN : null, corpus, generatedAt: utcIso() };
  await writeFileAtomic(join(outDir, "report.json"), JSON.stringify(result, null, 2) + "\n");
  await writeFileAtomic(join(outDir, "report.csv"), reportCsv(report));
  await writeFileAtomic(join(outDir, "report.md"), reportMarkdown(report));
  return { result, outDir };
}

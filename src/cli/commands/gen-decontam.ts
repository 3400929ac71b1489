import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, rename } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import pc from "picocolors";
import { listCorpusTasks } from "../../datagen/corpus.js";
import { contaminatedIds, decontaminate, reportCsv, reportMarkdown, type Benchmark, type TextDoc } from "../../datagen/decontam.js";
import { appendManifest, readManifest } from "../../datagen/manifest.js";
import { writeFileAtomic } from "../../util/atomic-write.js";
import { utcIso } from "../../util/time.js";

/** A benchmark's documents: the instruction.md of each task under `dir` (or of `dir` itself). */
function benchmarkDocs(dir: string): Benchmark {
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

/** `tmax gen decontam`: n-gram overlap of task descriptions with benchmark instructions; optionally removes tasks. */
export async function genDecontamCommand(
  corpusArg: string,
  o: { against: string[]; n: number[]; remove: boolean; removeN: number; output?: string; json: boolean },
): Promise<number> {
  const corpus = resolve(corpusArg);
  if (o.against.length === 0) {
    console.error("tmax gen decontam: give at least one --against <benchmark tasks dir>");
    return 2;
  }
  const tasks = listCorpusTasks(corpus);
  const docs: TextDoc[] = tasks.map((t) => ({ id: t.name, text: readFileSync(join(t.dir, "instruction.md"), "utf8") }));
  const benchmarks = o.against.map(benchmarkDocs);
  const ns = [...new Set([...o.n, o.removeN])].sort((a, b) => b - a);
  const report = decontaminate(docs, benchmarks, ns);
  const outDir = resolve(o.output ?? join(corpus, "decontam"));
  await mkdir(outDir, { recursive: true });

  const removed: string[] = [];
  if (o.remove) {
    const flagged = contaminatedIds(report, o.removeN);
    const manifest = readManifest(corpus);
    await mkdir(join(corpus, ".removed"), { recursive: true });
    for (const t of tasks) {
      if (!flagged.has(t.name)) continue;
      // Moved aside, not deleted: nothing is lost, and the corpus no longer lists the task.
      await rename(t.dir, join(corpus, ".removed", t.name));
      removed.push(t.name);
      const entry = [...manifest.values()].find((e) => e.task === t.name);
      if (entry) {
        const hit = report.flagged.find((f) => f.id === t.name)?.flags.find((f) => f.n === o.removeN);
        appendManifest(corpus, { ...entry, status: "rejected", reason: "contaminated", stage: "decontam", detail: `${o.removeN}-gram overlap with ${hit?.benchmark ?? "a benchmark"}: ${hit?.examples[0] ?? ""}`, task: null, finished_at: utcIso() });
      }
    }
  }
  const json = { ...report, removed, removeN: o.remove ? o.removeN : null, corpus, generatedAt: utcIso() };
  await writeFileAtomic(join(outDir, "report.json"), JSON.stringify(json, null, 2) + "\n");
  await writeFileAtomic(join(outDir, "report.csv"), reportCsv(report));
  await writeFileAtomic(join(outDir, "report.md"), reportMarkdown(report));
  if (o.json) console.log(JSON.stringify(json, null, 2));
  else {
    console.log(reportMarkdown(report));
    if (o.remove) console.log(removed.length ? pc.yellow(`moved ${removed.length} contaminated task(s) (${o.removeN}-grams) to ${join(corpus, ".removed")}`) : pc.green("no task needed removing"));
    console.log(pc.dim(`reports: ${outDir}/report.{md,csv,json}`));
  }
  return 0;
}

import { resolve } from "node:path";
import Table from "cli-table3";
import pc from "picocolors";
import { writeFileAtomic } from "../../util/atomic-write.js";
import { loadTaxonomy, resolveCorpusKind, DEFAULT_TAXONOMY_PATH } from "../../datagen/taxonomy.js";
import { marginals, sampleSpecs, type SpecAxis } from "../../datagen/sample.js";
import { EXIT, UsageError, type ExitCode } from "../exit-codes.js";

/** `tmax gen sample`: n specs drawn from the taxonomy; the same seed gives the same file. */
export async function genSampleCommand(opts: { n: number; corpus: string; seed: number; output: string; taxonomy?: string; start: number; quiet: boolean }): Promise<ExitCode> {
  const t = loadTaxonomy(opts.taxonomy ?? DEFAULT_TAXONOMY_PATH);
  let kind;
  try {
    kind = resolveCorpusKind(t, opts.corpus);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const specs = sampleSpecs(t, kind, opts.seed, opts.n, opts.start);
  await writeFileAtomic(resolve(opts.output), specs.map((s) => JSON.stringify(s)).join("\n") + (specs.length ? "\n" : ""));
  if (!opts.quiet) {
    console.log(`${pc.green("✓")} ${specs.length} specs (${kind}, seed ${opts.seed}, taxonomy ${t.digest}) → ${opts.output}`);
    const table = new Table({ head: ["axis", "marginals (% of specs)"].map((h) => pc.bold(h)), style: { head: [], border: [] }, colWidths: [20, 90], wordWrap: true });
    for (const axis of ["domain", "task_complexity", "command_complexity", "verifier_kind", "fixture_kind", "language"] as SpecAxis[]) {
      const m = [...marginals(specs, axis).entries()].sort((a, b) => b[1] - a[1]);
      table.push([axis, m.map(([v, p]) => `${v} ${(p * 100).toFixed(1)}`).join(", ")]);
    }
    const anchored = specs.filter((s) => s.anchor).length;
    table.push(["anchor", `${((anchored / Math.max(1, specs.length)) * 100).toFixed(1)}% of specs have one`]);
    console.log(table.toString());
  }
  return EXIT.ok;
}

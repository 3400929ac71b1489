import { relative, resolve } from "node:path";
import pc from "picocolors";
import { exportHarbor, exportHuggingFace, type HfFormat } from "../../datagen/export.js";
import { EXIT, type ExitCode } from "../exit-codes.js";

/** The CLI restricts --format to these choices. */
type GenExportFormat = "harbor" | HfFormat;

/**
 * `tmax gen export`: a corpus as a Harbor dataset directory (`harbor`) or a Hugging Face dataset (`jsonl`, `parquet`:
 * data/train.* plus a dataset card). The hidden truth (generation/, the truth column) is left out unless includeTruth.
 */
export async function genExportCommand(corpusDir: string, opts: { format: GenExportFormat; output: string; includeTruth: boolean }): Promise<ExitCode> {
  const corpus = resolve(corpusDir);
  const out = resolve(opts.output);
  const shown = relative(process.cwd(), out) || ".";
  const truth = opts.includeTruth ? ", with truth" : "";
  if (opts.format === "harbor") {
    const r = await exportHarbor(corpus, out, { includeTruth: opts.includeTruth });
    console.log(`${pc.green("✓")} ${r.tasks} tasks (${r.files} files) → harbor dataset${truth} at ${shown}`);
  } else {
    const r = await exportHuggingFace(corpus, out, { format: opts.format, includeTruth: opts.includeTruth });
    console.log(`${pc.green("✓")} ${r.rows} tasks → ${r.format} dataset${truth} at ${shown} (${relative(out, r.dataFile)}, README.md)`);
  }
  return EXIT.ok;
}

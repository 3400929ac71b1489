import { join } from "node:path";
import pc from "picocolors";
import { decontaminateCorpus } from "../../datagen/decontam-corpus.js";
import { reportMarkdown } from "../../datagen/decontam.js";
import { REMOVED_DIR } from "../../store/corpus.js";
import { EXIT, UsageError, type ExitCode } from "../exit-codes.js";

/** `tmax gen decontam`: n-gram overlap of task descriptions with benchmark instructions; optionally removes tasks. */
export async function genDecontamCommand(
  corpusArg: string,
  o: { against: string[]; n: number[]; remove: boolean; removeN: number; output?: string; json: boolean },
): Promise<ExitCode> {
  if (o.against.length === 0) throw new UsageError("give at least one --against <benchmark tasks dir>");
  const { result, outDir } = await decontaminateCorpus(corpusArg, { against: o.against, ns: o.n, remove: o.remove, removeN: o.removeN, outDir: o.output });
  if (o.json) console.log(JSON.stringify(result, null, 2));
  else {
    console.log(reportMarkdown(result));
    if (o.remove) {
      const removedDir = join(result.corpus, REMOVED_DIR);
      console.log(result.removed.length ? pc.yellow(`moved ${result.removed.length} contaminated task(s) (${o.removeN}-grams) to ${removedDir}`) : pc.green("no task needed removing"));
    }
    console.log(pc.dim(`reports: ${outDir}/report.{md,csv,json}`));
  }
  return EXIT.ok;
}

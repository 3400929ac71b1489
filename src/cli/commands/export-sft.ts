import pc from "picocolors";
import { loadHfTokenizer } from "../../model/hf/hf-tokenizer.js";
import { exportSft, SftFormatError, type SftFormat, type SftSummary } from "../../rl/sft/sft-export.js";
import { writeFileAtomic } from "../../util/atomic-write.js";
import { EXIT, UsageError, type ExitCode } from "../exit-codes.js";

export interface ExportSftOptions {
  out: string;
  minReward: number;
  format: SftFormat;
  modelDir?: string;
  json: boolean;
}

function summaryText(summary: SftSummary, out: string): string {
  const lines = [
    `${summary.found} trajectories found, ${summary.exported} exported to ${out}, ${summary.skipped_by_reward} skipped by reward, ${summary.unreadable.length} unreadable`,
  ];
  for (const u of summary.unreadable) lines.push(pc.yellow(`  ${u.source}: ${u.reason}`));
  return lines.join("\n");
}

/**
 * `tmax export sft`: successful trajectories of job and rollout directories as SFT data, one JSON line each
 * (rl/sft/sft-export.ts), written atomically. The summary goes to stderr (and with --json to stdout). Exit 1 when an
 * input cannot be read or a trajectory that met the reward bar could not be exported.
 */
export async function exportSftCommand(dirs: string[], opts: ExportSftOptions): Promise<ExitCode> {
  const tokenizer = opts.modelDir !== undefined ? await loadHfTokenizer(opts.modelDir) : null;
  let result;
  try {
    result = await exportSft(dirs, { format: opts.format, minReward: opts.minReward, tokenizer });
  } catch (err) {
    if (err instanceof SftFormatError) throw new UsageError(err.message);
    throw err;
  }
  await writeFileAtomic(opts.out, result.lines.map((l) => l + "\n").join(""));
  console.error(summaryText(result.summary, opts.out));
  if (opts.json) console.log(JSON.stringify({ out: opts.out, format: opts.format, min_reward: opts.minReward, ...result.summary }, null, 2));
  return result.summary.unreadable.length > 0 ? EXIT.failure : EXIT.ok;
}

import pc from "picocolors";
import { summarize, summarizeTasks } from "../../stats/summary.js";
import { readJob } from "../../store/job.js";
import { EXIT, type ExitCode } from "../exit-codes.js";

/** `tmax stats`: the same figures for any Harbor job directory, written by tmax or by Harbor. */
export async function statsCommand(dirs: string[], opts: { perTask: boolean; json: boolean }): Promise<ExitCode> {
  const out: object[] = [];
  let failed = false;
  for (const dir of dirs) {
    let listing;
    try {
      listing = await (await readJob(dir)).trials();
    } catch (err) {
      console.error(pc.red(`tmax stats: ${(err as Error).message}`));
      failed = true;
      continue;
    }
    for (const u of listing.unreadable) console.error(pc.yellow(`${dir}/${u.name}/result.json: unreadable (${u.error}); skipped`));
    const summary = summarize(listing.records);
    if (opts.json) {
      out.push({ job: dir, ...summary, ...(opts.perTask ? { per_task: summarizeTasks(listing.records) } : {}) });
    } else {
      // Tables (cli-table3) are loaded only when printed: `--json` on thousands of trials should start fast.
      const { perTaskTable, summaryTable } = await import("../../ui/summary-table.js");
      console.log(summaryTable(dir, summary));
      if (opts.perTask) console.log(perTaskTable(summarizeTasks(listing.records)));
    }
  }
  if (opts.json) console.log(JSON.stringify(out, null, 2));
  return failed ? EXIT.failure : EXIT.ok;
}

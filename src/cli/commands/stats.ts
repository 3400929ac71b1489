import pc from "picocolors";
import { readJobTrials } from "../../stats/job-reader.js";
import { summarize, summarizeTasks } from "../../stats/summary.js";
import { perTaskTable, summaryTable } from "../../ui/summary-table.js";

/** `tmax stats`: the same figures for any Harbor job directory, written by tmax or by Harbor. */
export async function statsCommand(dirs: string[], opts: { perTask: boolean; json: boolean }): Promise<number> {
  const out: object[] = [];
  let failed = false;
  for (const dir of dirs) {
    let read;
    try {
      read = readJobTrials(dir);
    } catch (err) {
      console.error(pc.red(`tmax stats: ${(err as Error).message}`));
      failed = true;
      continue;
    }
    for (const u of read.unreadable) console.error(pc.yellow(`${dir}/${u.dir}/result.json: unreadable (${u.error}); skipped`));
    const summary = summarize(read.records);
    if (opts.json) {
      out.push({ job: dir, ...summary, ...(opts.perTask ? { per_task: summarizeTasks(read.records) } : {}) });
    } else {
      console.log(summaryTable(dir, summary));
      if (opts.perTask) console.log(perTaskTable(summarizeTasks(read.records)));
    }
  }
  if (opts.json) console.log(JSON.stringify(out, null, 2));
  return failed ? 1 : 0;
}

import { join, resolve } from "node:path";
import Table from "cli-table3";
import pc from "picocolors";
import { solveStats, writeSolveResults } from "../../datagen/solve.js";
import { TIERS } from "../../datagen/tiers.js";
import { readCorpus } from "../../store/corpus.js";
import { readJobTrials } from "../../store/job.js";
import type { EnvironmentKind } from "../../environment/providers.js";
import { defaultJobName } from "../../util/time.js";
import { EXIT, type ExitCode } from "../exit-codes.js";
import { executeJob } from "../job-runner.js";
import { agentSettingsFrom } from "../options.js";
import { buildJobConfig, runOptionsWithDefaults } from "../../job/config.js";
import { discoverTasks } from "../../task/dataset.js";

export interface GenSolveOptions {
  agent: string;
  model?: string;
  baseUrl?: string;
  apiKey?: string;
  agentKwarg: Record<string, unknown>;
  agentEnv: Record<string, string>;
  nAttempts: number;
  nConcurrent: number;
  jobsDir?: string;
  jobName?: string;
  fromJob?: string;
  secondJob?: string;
  env: EnvironmentKind;
  /** Engine API URLs (`--engine`, repeatable): trials spread over them; none = the default engine. */
  engine: string[];
  quiet: boolean;
}

/**
 * `tmax gen solve`: pass@k per task through the runner (any agent), then difficulty tiers written into every task's
 * [metadata]. `--from-job` reuses a finished job instead of running one; `--second-job` adds a second reference model.
 */
export async function genSolveCommand(corpusArg: string, o: GenSolveOptions): Promise<ExitCode> {
  const corpus = resolve(corpusArg);
  const tasks = readCorpus(corpus).tasks();
  if (tasks.length === 0) {
    console.error(`tmax gen solve: ${corpus} holds no tasks`);
    return EXIT.failure;
  }
  let jobDir: string;
  if (o.fromJob) {
    jobDir = resolve(o.fromJob);
  } else {
    const jobsDir = o.jobsDir ?? join(corpus, ".solve");
    const jobName = o.jobName ?? `solve__${defaultJobName()}`;
    jobDir = resolve(jobsDir, jobName);
    const agent = agentSettingsFrom(o);
    const config = buildJobConfig(
      runOptionsWithDefaults({
        path: corpus,
        agent: o.agent,
        model: o.model ?? null,
        agentKwargs: agent.kwargs,
        agentEnv: agent.env,
        nAttempts: o.nAttempts,
        nConcurrent: o.nConcurrent,
        jobsDir,
        jobName,
        environmentType: o.env,
        engines: o.engine,
        quiet: o.quiet,
      }),
    );
    const found = await discoverTasks(corpus);
    const code = await executeJob({ config, jobDir, found, resume: false, literalEnv: agent.env }, { quiet: o.quiet, json: false, debug: false }, ["gen", "solve", corpusArg]);
    if (code !== 0) {
      console.error(pc.yellow(`the solve job did not finish (exit ${code}); resume it with: npx tmax run --resume ${jobDir}, then: npx tmax gen solve ${corpusArg} --from-job ${jobDir}`));
      return code;
    }
  }
  const first = await readJobTrials(jobDir);
  const second = o.secondJob ? solveStats((await readJobTrials(resolve(o.secondJob))).records) : undefined;
  const model = first.records[0]?.modelName ?? o.model ?? null;
  const agentName = first.records[0]?.agentName ?? o.agent;
  const result = await writeSolveResults(tasks, solveStats(first.records), { agent: agentName, model, job: jobDir }, second);

  const table = new Table({ head: ["tier", "tasks", "share"].map((h) => pc.bold(h)), style: { head: [], border: [] } });
  for (const t of TIERS) table.push([t, String(result.tiers[t]), `${((result.tiers[t] / Math.max(1, result.updated)) * 100).toFixed(1)}%`]);
  console.log(table.toString());
  const ks = Object.keys(result.passAtK).sort((a, b) => Number(a) - Number(b));
  if (ks.length) console.log(ks.map((k) => `pass@${k} ${result.passAtK[k]!.toFixed(3)}`).join("  "));
  console.log(`${result.updated} task(s) updated with difficulty tiers from ${jobDir}${second ? ` and ${o.secondJob}` : ""}`);
  if (result.missing.length) console.error(pc.yellow(`${result.missing.length} task(s) had no trials in the job: ${result.missing.slice(0, 5).join(", ")}${result.missing.length > 5 ? ", …" : ""}`));
  return EXIT.ok;
}

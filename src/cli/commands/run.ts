import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import pc from "picocolors";
import type { AgentOptions } from "../../agent/agent.js";
import { createAgent } from "../../agent/registry.js";
import { handleInterrupts } from "../interrupts.js";
import { openProvider, type EngineProvider, type EnvironmentKind } from "../../environment/providers.js";
import { buildJobConfig, jobTaskSource, resolveSecrets, type RunOptions } from "../../job/config.js";
import { runJob } from "../../job/job.js";
import { readJobConfig } from "../../job/resume.js";
import type { JobConfig } from "../../job/schema.js";
import { summarize } from "../../stats/summary.js";
import { discoverTasks, type DiscoveredTasks } from "../../task/dataset.js";
import { formatProblem } from "../../task/problems.js";
import { JobProgress } from "../../ui/progress.js";
import { summaryTable } from "../../ui/summary-table.js";
import { defaultJobName } from "../../util/time.js";

export interface RunCliOptions {
  path?: string;
  resume?: string;
  agent: string;
  model?: string;
  baseUrl?: string;
  apiKey?: string;
  agentKwarg: Record<string, unknown>;
  agentEnv: Record<string, string>;
  nAttempts: number;
  nConcurrent: number;
  /** -n was given explicitly (on --resume it overrides the job's concurrency). */
  nConcurrentGiven?: boolean;
  includeTaskName: string[];
  excludeTaskName: string[];
  nTasks?: number;
  jobsDir: string;
  jobName?: string;
  env: EnvironmentKind;
  timeoutMultiplier: number;
  agentTimeoutMultiplier?: number;
  verifierTimeoutMultiplier?: number;
  agentSetupTimeoutMultiplier?: number;
  environmentBuildTimeoutMultiplier?: number;
  agentTimeout?: number;
  maxAgentTimeout?: number;
  verifierTimeout?: number;
  maxRetries: number;
  retryInclude?: string[];
  retryExclude?: string[];
  forceBuild: boolean;
  delete: boolean;
  overrideCpus?: number;
  overrideMemoryMb?: number;
  overrideStorageMb?: number;
  verifierEnv: Record<string, string>;
  disableVerification: boolean;
  artifact: string[];
  json: boolean;
  quiet: boolean;
  debug: boolean;
}

function reportInvalid(found: DiscoveredTasks): void {
  for (const bad of found.invalid) {
    console.error(pc.red(`✗ ${bad.name}: skipped, the task is malformed`));
    for (const p of bad.problems.filter((x) => x.severity === "error")) console.error(`    ${formatProblem(p)}`);
  }
  for (const w of found.warnings) console.error(pc.yellow(`! ${formatProblem(w)}`));
}

function toRunOptions(o: RunCliOptions, singleTask: boolean): RunOptions {
  return {
    path: o.path!,
    agent: o.agent,
    model: o.model ?? null,
    agentKwargs: { ...o.agentKwarg, ...(o.baseUrl ? { base_url: o.baseUrl } : {}) },
    agentEnv: { ...o.agentEnv, ...(o.apiKey ? { OPENAI_API_KEY: o.apiKey } : {}) },
    nAttempts: o.nAttempts,
    nConcurrent: o.nConcurrent,
    include: o.includeTaskName,
    exclude: o.excludeTaskName,
    limit: o.nTasks ?? null,
    jobsDir: o.jobsDir,
    jobName: o.jobName ?? defaultJobName(),
    timeoutMultiplier: o.timeoutMultiplier,
    agentTimeoutMultiplier: o.agentTimeoutMultiplier ?? null,
    verifierTimeoutMultiplier: o.verifierTimeoutMultiplier ?? null,
    agentSetupTimeoutMultiplier: o.agentSetupTimeoutMultiplier ?? null,
    environmentBuildTimeoutMultiplier: o.environmentBuildTimeoutMultiplier ?? null,
    environmentType: o.env,
    forceBuild: o.forceBuild,
    deleteContainers: o.delete,
    overrideCpus: o.overrideCpus ?? null,
    overrideMemoryMb: o.overrideMemoryMb ?? null,
    overrideStorageMb: o.overrideStorageMb ?? null,
    agentTimeoutSec: o.agentTimeout ?? null,
    agentSetupTimeoutSec: null,
    maxAgentTimeoutSec: o.maxAgentTimeout ?? null,
    verifierTimeoutSec: o.verifierTimeout ?? null,
    verifierEnv: o.verifierEnv,
    disableVerification: o.disableVerification,
    maxRetries: o.maxRetries,
    retryInclude: o.retryInclude ?? null,
    retryExclude: o.retryExclude ?? null,
    artifacts: o.artifact,
    debug: o.debug,
    quiet: o.quiet,
    singleTask,
  };
}

/** `tmax run`: returns the process exit code. */
export async function runCommand(o: RunCliOptions, argv: string[]): Promise<number> {
  if (!o.path === !o.resume) {
    console.error("tmax run: give either -p/--path <tasks> or --resume <job-dir>");
    return 2;
  }
  if (o.resume) {
    const jobDir = resolve(o.resume);
    let config = readJobConfig(jobDir);
    if (o.nConcurrentGiven) config = { ...config, n_concurrent_trials: o.nConcurrent };
    const src = jobTaskSource(config);
    const found = await discoverTasks(src.path, { include: src.include, exclude: src.exclude, limit: src.limit });
    return executeJob({ config, jobDir, found, resume: true, literalEnv: {} }, o, argv);
  }
  const found = await discoverTasks(o.path!, { include: o.includeTaskName, exclude: o.excludeTaskName, limit: o.nTasks ?? null });
  const config = buildJobConfig(toRunOptions(o, found.kind === "task"));
  // Secrets given on this command line are used as given; config.json only holds ${NAME} references to them.
  const literalEnv = { ...o.agentEnv, ...(o.apiKey ? { OPENAI_API_KEY: o.apiKey } : {}) };
  return executeJob({ config, jobDir: resolve(config.jobs_dir, config.job_name), found, resume: false, literalEnv }, o, argv);
}

export interface PreparedJob {
  config: JobConfig;
  jobDir: string;
  found: DiscoveredTasks;
  resume: boolean;
  /** Agent environment given literally on this command line (config.json holds only ${NAME} for secrets). */
  literalEnv: Record<string, string>;
}

/**
 * Runs a prepared job as `tmax run` does: reports malformed tasks, checks the agent, shows live progress, handles
 * Ctrl-C, and ends with the summary table (or JSON). Returns the exit code.
 */
export async function executeJob(
  { config, jobDir, found, resume, literalEnv }: PreparedJob,
  ui: { quiet: boolean; json: boolean; debug: boolean },
  argv: string[],
): Promise<number> {
  if (!resume && existsSync(join(jobDir, "config.json"))) {
    console.error(`tmax run: ${jobDir} already holds a job; resume it with --resume ${jobDir} or pick another --job-name`);
    return 2;
  }
  reportInvalid(found);
  if (found.tasks.length === 0) {
    console.error("tmax run: no valid tasks to run");
    return 1;
  }

  const agentCfg = config.agents[0]!;
  const agentName = agentCfg.name ?? "oracle";
  let agentOptions: AgentOptions;
  try {
    const fromConfig = resolveSecrets(Object.fromEntries(Object.entries(agentCfg.env).filter(([k]) => !(k in literalEnv))));
    agentOptions = { modelName: agentCfg.model_name, kwargs: agentCfg.kwargs, env: { ...fromConfig, ...literalEnv } };
    await createAgent(agentName, agentOptions); // fail fast on an unknown agent or bad settings
  } catch (err) {
    console.error(`tmax run: ${(err as Error).message}`);
    return 2;
  }

  let provider: EngineProvider | null = null;
  const interrupts = handleInterrupts("stopping running trials and removing their containers…", async () => provider?.close());
  try {
    provider = await openProvider((config.environment.type as EnvironmentKind) ?? "podman");
    const showProgress = !ui.quiet && !ui.json;
    let progress: JobProgress | null = null;
    if (showProgress) {
      console.error(
        `${resume ? "Resuming" : "Running"} ${pc.bold(config.job_name)}: ${found.tasks.length} task(s) × ${config.n_attempts} attempt(s), ` +
          `agent ${agentName}${agentCfg.model_name ? ` (${agentCfg.model_name})` : ""}, ${config.n_concurrent_trials} at once, ${provider.name}`,
      );
      console.error(pc.dim(`job dir: ${jobDir}`));
    }
    const outcome = await runJob({
      jobDir,
      config,
      tasks: found.tasks,
      source: found.source,
      provider,
      makeAgent: () => createAgent(agentName, agentOptions),
      signal: interrupts.signal,
      invocation: ["tmax", ...argv],
      resume,
      hooks: {
        onPlan: ({ total, finished, discarded }) => {
          if (!showProgress) return;
          progress = new JobProgress(total, finished);
          if (discarded > 0) progress.message(`${discarded} interrupted trial(s) discarded; they run again`);
          if (finished > 0) progress.message(`${finished} trial(s) already finished; ${total - finished} to run`);
          progress.start();
        },
        onTrialStart: ({ trialName }) => progress?.trialStarted(trialName),
        onTrialEnd: (r, { willRetry }) => progress?.trialEnded(r, willRetry),
        onLog: (line) => {
          if (ui.debug) progress?.message(pc.dim(line));
        },
      },
    });
    (progress as JobProgress | null)?.stop();
    const summary = summarize(outcome.records);
    const usage = process.resourceUsage();
    if (ui.json) {
      console.log(
        JSON.stringify(
          {
            job: jobDir,
            cancelled: outcome.cancelled,
            ...summary,
            invalid_tasks: found.invalid.map((b) => ({ task: b.name, problems: b.problems })),
            orchestrator: { cpu_s: (usage.userCPUTime + usage.systemCPUTime) / 1e6, max_rss_mb: usage.maxRSS / 1024 },
          },
          null,
          2,
        ),
      );
    } else {
      console.log(summaryTable(jobDir, summary));
      if (found.invalid.length > 0) console.log(pc.yellow(`${found.invalid.length} malformed task(s) skipped: ${found.invalid.map((b) => b.name).join(", ")}`));
      if (outcome.cancelled) console.log(pc.yellow(`Interrupted. Resume with: npx tmax run --resume ${jobDir}`));
    }
    return outcome.cancelled ? 130 : 0;
  } finally {
    interrupts.dispose();
    await provider?.close();
  }
}

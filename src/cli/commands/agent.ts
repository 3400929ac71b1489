import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import pc from "picocolors";
import { handleInterrupts } from "../interrupts.js";
import type { AgentOptions } from "../../agent/agent.js";
import { createAgent } from "../../agent/registry.js";
import type { EpisodeEvent } from "../../agent/tmax/episode.js";
import type { TmaxAgent } from "../../agent/tmax/tmax-agent.js";
import { CHAT_MESSAGES_FILE, TRAJECTORY_FILE } from "../../agent/tmax/trajectory-files.js";
import { primaryReward } from "../../verifier/reward.js";
import type { EnvironmentProvider } from "../../environment/environment.js";
import type { EnvironmentKind } from "../../environment/providers.js";
import { openJobEngines } from "../engine.js";
import { buildJobConfig, runOptionsWithDefaults } from "../../job/config.js";
import { runJob } from "../../job/job.js";
import { writeAdhocTask } from "../../task/adhoc.js";
import { loadTask, type Task } from "../../task/task.js";
import { renderAgentEvent } from "../../ui/agent-stream.js";
import { defaultJobName } from "../../util/time.js";
import { EXIT, UsageError, type ExitCode } from "../exit-codes.js";
import { agentSettingsFrom } from "../options.js";

export interface AgentCliOptions {
  image: string;
  path?: string;
  model?: string;
  baseUrl?: string;
  apiKey?: string;
  agentKwarg: Record<string, unknown>;
  agentEnv: Record<string, string>;
  env: EnvironmentKind;
  /** Engine API URLs (`--engine`, repeatable): containers spread over them; none = the default engine. */
  engine: string[];
  jobsDir: string;
  jobName?: string;
  agentTimeout?: number;
  workdir?: string;
  internet: boolean;
  delete: boolean;
  json: boolean;
}

/** `tmax agent`: one run of the tmax agent in a fresh container, streamed step by step; the trajectory is kept. */
export async function agentCommand(instruction: string | undefined, o: AgentCliOptions): Promise<ExitCode> {
  if (!instruction && !o.path) throw new UsageError('give an instruction ("…"), or -p TASK_DIR to use the task\'s own');
  const scratch = mkdtempSync(join(tmpdir(), "tmax-agent-"));
  let provider: EnvironmentProvider | null = null;
  const interrupts = handleInterrupts("stopping the agent and removing its container…", async () => provider?.close());
  try {
    const taskDir = o.path
      ? resolve(o.path)
      : writeAdhocTask(scratch, { image: o.image, instruction: instruction!, allowInternet: o.internet, workdir: o.workdir ?? null });
    const task: Task = await loadTask(taskDir);
    if (o.path && instruction) task.instruction = instruction;
    const verify = !!o.path;

    const { kwargs, env } = agentSettingsFrom(o);
    const print = (e: EpisodeEvent): void => {
      console.log(o.json ? JSON.stringify(e) : renderAgentEvent(e));
    };
    const agentOptions: AgentOptions = { modelName: o.model ?? null, kwargs, env };
    let agent: TmaxAgent;
    try {
      // Built once up front to fail fast on bad settings; every trial gets a fresh one from the registry.
      agent = (await createAgent("tmax", agentOptions)) as TmaxAgent;
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const config = buildJobConfig(
      runOptionsWithDefaults({
        path: taskDir,
        agent: "tmax",
        model: o.model ?? null,
        agentKwargs: kwargs,
        agentEnv: env,
        nConcurrent: 1,
        jobsDir: o.jobsDir,
        jobName: o.jobName ?? `agent__${defaultJobName()}`,
        environmentType: o.env,
        deleteContainers: o.delete,
        agentTimeoutSec: o.agentTimeout ?? null,
        disableVerification: !verify,
        quiet: true,
        singleTask: true,
      }),
    );
    const jobDir = resolve(config.jobs_dir, config.job_name);
    if (!o.json) {
      console.error(pc.dim(`${o.path ? `task ${task.name}` : `image ${o.image}`} · model ${o.model} · ${agent.settings.baseUrl ?? "(given client)"}`));
    }
    provider = await openJobEngines(o.env, o.engine, interrupts.signal);
    const outcome = await runJob({
      jobDir,
      config,
      tasks: [task],
      source: null,
      provider,
      makeAgent: () => createAgent("tmax", agentOptions, { onEvent: print }),
      signal: interrupts.signal,
      invocation: ["tmax", ...process.argv.slice(2)],
    });
    const trial = outcome.records[0];
    const trialDir = trial ? join(jobDir, trial.trialName) : jobDir;
    const reward = primaryReward(trial?.rewards);
    if (o.json) {
      console.log(JSON.stringify({ type: "result", job: jobDir, trial: trialDir, rewards: trial?.rewards ?? null, exception: trial?.exceptionType ?? null }));
    } else {
      if (trial?.exceptionType) console.log(pc.red(`exception: ${trial.exceptionType} (see ${join(trialDir, "exception.txt")})`));
      if (verify) console.log(reward != null ? pc.bold(`reward: ${reward}`) : pc.red("no reward (verification did not produce one)"));
      console.log(pc.dim(`trajectory: ${join(trialDir, "agent", TRAJECTORY_FILE)} (ATIF)`));
      console.log(pc.dim(`messages: ${join(trialDir, "agent", CHAT_MESSAGES_FILE)}`));
    }
    if (outcome.cancelled) return EXIT.interrupted;
    return trial?.exceptionType && trial.exceptionType !== "AgentTimeoutError" ? EXIT.failure : EXIT.ok;
  } finally {
    interrupts.dispose();
    await provider?.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { pathToFileURL } from "node:url";
import type { Agent, AgentRunContext } from "../agent/agent.js";
import type { Environment, EnvironmentProvider } from "../environment/environment.js";
import { resourceOverridesOf } from "../task/config-types.js";
import { taskChecksum, type Task, type TaskStep } from "../task/task.js";
import type { AgentProcessPolicy } from "../verifier/agent-processes.js";
import { verify } from "../verifier/verifier.js";
import type { Rewards } from "../verifier/reward.js";
import { verifierEnvironmentDefinition } from "../task/verifier-environment.js";
import { runSeparateVerifier } from "./separate-verifier.js";
import { writeHarborJson } from "../harbor/json-text.js";
import { errorMessage, errorStack } from "../util/errors.js";
import { utcIso } from "../util/time.js";
import { uuid } from "../util/ids.js";
import { TimedOut, withDeadline } from "./deadline.js";
import { runHealthcheck } from "./healthcheck.js";
import { collectArtifacts, runCollectHooks } from "./artifacts.js";
import { environmentSpecFor, inTaskTerms } from "./environment-spec.js";
import { capLogDir, DEFAULT_MAX_LOG_BYTES } from "./output-cap.js";
import { closeWhileRunning, restoreModes } from "./permissions.js";
import {
  AgentSetupTimeoutError,
  AgentTimeoutError,
  CancelledError,
  EnvironmentStartTimeoutError,
  RECORDED_AND_VERIFIED,
  exceptionTypeOf,
} from "../harbor/exceptions.js";
import { TrialPaths } from "./paths.js";
import { emptyAgentContext, type StepResult, type Timing, type TrialConfig, type TrialResult } from "../harbor/trial-schema.js";
import { phaseTimeouts, stepTimeouts } from "./timeouts.js";
import { runSteps, type StepRunner } from "./steps.js";
import { removeEmptyRootDirs } from "./step-outputs.js";

export type TrialPhase = "environment_setup" | "agent_setup" | "agent_execution" | "verifier" | "cleanup";

export interface TrialSpec {
  task: Task;
  config: TrialConfig;
  /** Dataset name for result.source (null = "adhoc"). */
  source: string | null;
  /** Trial directory (the job dir / config.trial_name; config.trials_dir may be relative, as Harbor writes it). */
  dir: string;
  /** The task's checksum when the caller already has it (a job computes it once per task). */
  checksum?: string;
  /** The verifier environment to run with when config.verifier.env holds masked secrets (harbor/secrets.ts). */
  verifierEnv?: Record<string, string>;
  /** The environment's variables to run with when config.environment.env holds masked secrets. */
  environmentEnv?: Record<string, string>;
}

/** result.json's task_id as Harbor derives it from the trial config's task (TaskConfig.get_task_id). */
function taskIdOf(ref: TrialConfig["task"], dir: string): TrialResult["task_id"] {
  if (ref.git_url && ref.path) return { git_url: ref.git_url, git_commit_id: ref.git_commit_id, path: ref.path };
  return { path: ref.path ?? dir };
}

/** Harbor's `keep_containers` environment kwarg (docker, podman) keeps the container even when delete is set. */
function deletesEnvironment(config: TrialConfig): boolean {
  return config.environment.delete && config.environment.kwargs.keep_containers !== true;
}

/** How a trial guards the host and the score against what runs in the sandbox (tmax's, beyond Harbor's). */
export interface TrialPolicies {
  /** Which processes the agent left end before the tests run (default "servers": all but servers). */
  agentProcesses?: AgentProcessPolicy;
  /** Bytes each of the trial's log dirs may hold (default DEFAULT_MAX_LOG_BYTES; see output-cap.ts). */
  maxLogBytes?: number;
}

export interface TrialDeps {
  provider: EnvironmentProvider;
  agent: Agent;
  /** Job cancellation (Ctrl-C): the trial stops, removes its container and records CancelledError. */
  signal?: AbortSignal;
  policies?: TrialPolicies;
  onPhase?: (phase: TrialPhase) => void;
}

function agentInfo(agent: Agent): TrialResult["agent_info"] {
  return { name: agent.name, version: agent.version, model_info: agent.modelInfo };
}

/** Runs one trial through Harbor's lifecycle and returns its result (also written to result.json). */
export async function runTrial(spec: TrialSpec, deps: TrialDeps): Promise<TrialResult> {
  const { task, config } = spec;
  const paths = new TrialPaths(spec.dir);
  await Promise.all([paths.agent, paths.verifier, paths.artifacts].map((d) => mkdir(d, { recursive: true })));
  await closeWhileRunning(spec.dir);
  const logStream: WriteStream = createWriteStream(paths.log, { flags: "a" });
  const log = (line: string): void => {
    logStream.write(`${utcIso()} ${line}\n`);
  };
  const timeouts = phaseTimeouts(task, config);

  const result: TrialResult = {
    id: uuid(),
    task_name: task.name,
    trial_name: config.trial_name,
    trial_uri: pathToFileURL(spec.dir).href,
    task_id: taskIdOf(config.task, task.dir),
    source: spec.source,
    task_checksum: spec.checksum ?? (await taskChecksum(task)),
    config,
    agent_info: agentInfo(deps.agent),
    agent_result: null,
    verifier_result: null,
    exception_info: null,
    started_at: utcIso(),
    finished_at: null,
    environment_setup: null,
    agent_setup: null,
    agent_execution: null,
    verifier: null,
    step_results: null,
  };
  const save = (): Promise<void> => writeHarborJson(paths.result, result);
  await writeHarborJson(paths.config, config);
  await save();

  const recordException = async (err: unknown): Promise<void> => {
    const type = exceptionTypeOf(err);
    result.exception_info = {
      exception_type: type,
      exception_message: errorMessage(err),
      exception_traceback: errorStack(err),
      occurred_at: utcIso(),
    };
    log(`${type}: ${errorMessage(err)}`);
    await writeFile(paths.exception, errorStack(err) + "\n");
  };
  const phase = async <T>(name: Exclude<TrialPhase, "cleanup">, body: () => Promise<T>): Promise<T> => {
    deps.onPhase?.(name);
    const timing: Timing = { started_at: utcIso(), finished_at: null };
    result[name] = timing;
    await save();
    log(`${name} started`);
    try {
      return await body();
    } finally {
      timing.finished_at = utcIso();
      log(`${name} finished`);
    }
  };

  // Created in environment_setup: building its spec may fail (an unset ${VAR}) and is then that phase's error.
  let created = null as Environment | null;
  const overrides = resourceOverridesOf(config.environment);
  const environmentOptions = {
    trialName: config.trial_name,
    jobId: config.job_id ?? undefined,
    overrides,
    env: spec.environmentEnv ?? config.environment.env,
    mounts: config.environment.mounts ?? [],
    log,
    // Remote sandboxes (Daytona) are not capped at this host's CPUs.
    ...(deps.provider.cpuCap === null ? { hostCpus: Infinity } : deps.provider.cpuCap !== undefined ? { hostCpus: deps.provider.cpuCap } : {}),
  };
  const createEnvironment = (): Environment =>
    (created = deps.provider.createEnvironment(
      environmentSpecFor(task, { ...environmentOptions, logs: { agent: paths.agent, verifier: paths.verifier, artifacts: paths.artifacts } }),
    ));
  /** Starts an environment (the agent's, or a separate verifier's) within the build deadline, errors in Harbor's terms. */
  const startWithin = (env: Environment, what: string): Promise<void> =>
    withDeadline(timeouts.environmentBuild, deps.signal, (signal) => env.start({ forceBuild: config.environment.force_build, signal })).catch(
      (err) => {
        if (err instanceof TimedOut) throw new EnvironmentStartTimeoutError(`${what} did not start within ${timeouts.environmentBuild} s`);
        throw inTaskTerms(err, task, overrides);
      },
    );
  // The agent's environment stops once nothing needs it: after the trial, or before a separate verifier's last pass.
  let agentEnvironmentStopped = false;
  const stopAgentEnvironment = async (): Promise<void> => {
    const env = created;
    if (!env || agentEnvironmentStopped) return;
    agentEnvironmentStopped = true;
    if (!env.mounted) {
      await env.downloadDir("/logs/agent", paths.agent).catch(() => undefined);
      await env.downloadDir("/logs/artifacts", paths.artifacts).catch(() => undefined);
    }
    try {
      await env.stop({ delete: deletesEnvironment(config) });
    } catch (err) {
      log(`could not remove the environment: ${errorMessage(err)}`);
    }
  };
  const agentResult = emptyAgentContext();
  const agentCtx = (signal: AbortSignal): AgentRunContext => ({
    task,
    logsDir: paths.agent,
    result: agentResult,
    signal,
    timeoutSec: timeouts.agent,
    log,
  });

  // Watched from here on, and stopped in the finally below (its timers must not outlive the trial).
  const capBytes = deps.policies?.maxLogBytes ?? DEFAULT_MAX_LOG_BYTES;
  const onCapped = (dir: string): void => log(`${dir} passed its cap of ${capBytes} bytes: its files are cut there`);
  const caps = {
    agent: capLogDir(paths.agent, capBytes, onCapped),
    verifier: capLogDir(paths.verifier, capBytes, onCapped),
    artifacts: capLogDir(paths.artifacts, capBytes, onCapped),
  };
  // One instruction, one agent run, one verification.
  const runSingleStep = async (env: Environment): Promise<void> => {
    result.agent_result = agentResult;
    try {
      await phase("agent_execution", () =>
        withDeadline(timeouts.agent, deps.signal, (signal) => deps.agent.run(task.instruction, env, agentCtx(signal))).catch(
          (err) => {
            if (err instanceof TimedOut) throw new AgentTimeoutError(`agent did not finish within ${timeouts.agent} s`);
            throw err;
          },
        ),
      );
    } catch (err) {
      // An agent timeout or a non-zero agent exit is recorded, and the trial is still verified.
      if (!RECORDED_AND_VERIFIED.has(exceptionTypeOf(err))) throw err;
      await recordException(err);
    }
    await save();

    await runCollectHooks(env, task.config.verifier.collect, log);
    await collectArtifacts(env, [...task.config.artifacts, ...config.artifacts], paths, log).catch((err) =>
      log(`artifact collection failed: ${errorMessage(err)}`),
    );

    const separate = verifierEnvironmentDefinition(task.config, task.dir, null);
    if (separate) await stopAgentEnvironment(); // the tests see the artifacts only
    if (!config.verifier.disable) {
      await phase("verifier", async () => {
        const rewards = await verifyPass(env, null, timeouts.verifier);
        result.verifier_result = { rewards };
        log(`rewards ${JSON.stringify(rewards)}`);
      });
    }
  };

  /** One verify pass (of the task, or of a step): in the agent's environment, or in a separate verifier's own. */
  const verifyPass = async (env: Environment, step: TaskStep | null, timeoutSec: number | null): Promise<Rewards> => {
    caps.verifier.reset(); // the dir is emptied for the tests
    const testEnv = spec.verifierEnv ?? config.verifier.env;
    const agentProcesses = deps.policies?.agentProcesses;
    const definition = verifierEnvironmentDefinition(task.config, task.dir, step?.config ?? null);
    if (!definition) {
      return withDeadline(null, deps.signal, (signal) =>
        verify(env, task, paths.verifier, { timeoutSec, env: testEnv, signal, log, agentProcesses, ...(step ? { step } : {}) }),
      );
    }
    return runSeparateVerifier({
      task,
      definition,
      phaseNetwork: step?.config.verifier.network ?? task.config.verifier.network,
      step,
      provider: deps.provider,
      paths,
      environment: environmentOptions,
      start: (verifierEnv) => startWithin(verifierEnv, "the verifier environment"),
      timeoutSec,
      testEnv,
      signal: deps.signal,
      agentProcesses,
      deleteAfter: deletesEnvironment(config),
      log,
    });
  };

  const stepRunner = (env: Environment): StepRunner => ({
    task,
    env,
    paths,
    signal: deps.signal,
    verificationDisabled: config.verifier.disable,
    log,
    save,
    runAgent: (step, stepAgentResult) => {
      const { agent: seconds } = stepTimeouts(task, step, config);
      return withDeadline(seconds, deps.signal, (signal) =>
        deps.agent.run(step.instruction, env, { ...agentCtx(signal), result: stepAgentResult, timeoutSec: seconds, step }),
      ).catch((err) => {
        if (err instanceof TimedOut) throw new AgentTimeoutError(`agent did not finish step "${step.config.name}" within ${seconds} s`);
        throw err;
      });
    },
    healthcheck: (hc) => runHealthcheck(env, hc, deps.signal, log),
    collectArtifacts: async (step) => {
      await runCollectHooks(env, [...task.config.verifier.collect, ...step.config.verifier.collect], log);
      await collectArtifacts(env, [...task.config.artifacts, ...config.artifacts, ...step.config.artifacts], paths, log);
    },
    verify: async (step, last) => {
      // A separate verifier's last pass needs the agent's environment no more (Harbor stops it there).
      if (last && verifierEnvironmentDefinition(task.config, task.dir, step.config)) await stopAgentEnvironment();
      return verifyPass(env, step, stepTimeouts(task, step, config).verifier);
    },
    separateVerifier: (step) => verifierEnvironmentDefinition(task.config, task.dir, step.config) !== null,
    onArchived: () => {
      for (const cap of Object.values(caps)) cap.reset();
    },
  });

  try {
    const env = await phase("environment_setup", async () => {
      const started = createEnvironment();
      await startWithin(started, "environment");
      return started;
    });
    if (task.config.environment.healthcheck) await runHealthcheck(env, task.config.environment.healthcheck, deps.signal, log);

    await phase("agent_setup", () =>
      withDeadline(timeouts.agentSetup, deps.signal, (signal) => deps.agent.setup(env, agentCtx(signal))).catch((err) => {
        if (err instanceof TimedOut) throw new AgentSetupTimeoutError(`agent setup did not finish within ${timeouts.agentSetup} s`);
        throw err;
      }),
    );

    if (task.steps) {
      const stepResults: StepResult[] = [];
      result.step_results = stepResults;
      const rewards = await runSteps(stepRunner(env), stepResults);
      result.verifier_result = rewards ? { rewards } : null;
      log(`rewards ${JSON.stringify(rewards)}`);
    } else {
      await runSingleStep(env);
    }
  } catch (err) {
    const cancelled = deps.signal?.aborted;
    // A lost engine explains whatever failed after it (an agent's or verifier's error is only its echo).
    await recordException(cancelled ? new CancelledError("the job was cancelled") : (created?.engineLost ?? err));
  } finally {
    deps.onPhase?.("cleanup");
    await stopAgentEnvironment();
    // What was written since the last look (no writer is left now that the environment is stopped).
    for (const cap of Object.values(caps)) await cap.settle().catch(() => undefined);
    if (task.steps) await removeEmptyRootDirs(paths).catch(() => undefined);
    await restoreModes(spec.dir).catch((err) => log(`could not restore the trial dir's modes: ${errorMessage(err)}`));
    result.finished_at = utcIso();
    await save();
    log("trial finished");
    await new Promise<void>((r) => logStream.end(r));
  }
  return result;
}

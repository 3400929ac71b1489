import { join } from "node:path";
import { runEpisode, TMAX_RL_RULES, type EpisodeEnding, type EpisodeEvent } from "../agent/tmax/episode.js";
import { PersistentShell } from "../agent/tmax/shell.js";
import type { Environment, EnvironmentProvider } from "../environment/environment.js";
import type { TokenModelClient } from "../model/types.js";
import type { Task } from "../task/task.js";
import { environmentSpecFor } from "../trial/environment-spec.js";
import { errorMessage } from "../util/errors.js";
import { utcIso } from "../util/time.js";
import { primaryReward } from "../verifier/reward.js";
import { verify } from "../verifier/verifier.js";
import type { Rollout, RolloutEnding } from "./rollout.js";
import { RECIPE_BUDGETS, TokenPolicy, type PromptCodec, type TokenBudgets } from "./token-policy.js";

/**
 * One RL rollout end to end: a sandbox for the task (the runner's environments), the Tmax harness loop with the
 * token policy and the persistent shell, the task's tests run by the runner's verifier only if the episode
 * submitted (with the task's own verifier timeout — the original ran them inside the 120 s command timeout, so slow
 * suites scored 0), and the rollout record. A sandbox that cannot start or a server that stays unreachable is an
 * `infra_error`, which training resamples instead of scoring 0.
 */

export interface RolloutSettings {
  temperature: number;
  topP: number;
  /** Sample j is seeded seedBase + j (the recipe: 42 + j). */
  seedBase: number;
  budgets: TokenBudgets;
}

export const RECIPE_ROLLOUT_SETTINGS: RolloutSettings = { temperature: 1.0, topP: 1.0, seedBase: 42, budgets: RECIPE_BUDGETS };

export interface RolloutDeps {
  provider: EnvironmentProvider;
  client: TokenModelClient;
  codec: PromptCodec;
  settings: RolloutSettings;
  /** Where each sample's logs go (its agent/, verifier/ and artifacts/ dirs, as a trial's). */
  logsDir: string;
  signal: AbortSignal;
  onEvent?: (sample: number, event: EpisodeEvent) => void;
  /** Tool calls per episode; default the harness's (64). */
  maxToolCalls?: number;
}

export interface RolloutSample {
  task: Task;
  groupId: string;
  sampleIndex: number;
  policyVersion: number;
}

const ENDINGS: Partial<Record<EpisodeEnding, RolloutEnding>> = {
  submitted: "submitted",
  no_tool_call: "no_tool_call",
  format_errors: "no_tool_call",
  max_steps: "max_steps",
  token_budget: "token_budget",
  context_window: "context_window",
};

/** The test result of a submitted episode: the primary reward clamped to [0, 1]; unreadable or missing is 0 (spec §2). */
async function testReward(env: Environment, task: Task, verifierDir: string, signal: AbortSignal): Promise<{ reward: number; error: string | null }> {
  try {
    const rewards = await verify(env, task, verifierDir, { timeoutSec: task.config.verifier.timeoutSec, env: {}, signal, agentProcesses: "all" });
    const r = primaryReward(rewards);
    return { reward: r === null || !Number.isFinite(r) ? 0 : Math.min(1, Math.max(0, r)), error: null };
  } catch (err) {
    if (signal.aborted) throw err;
    return { reward: 0, error: errorMessage(err) };
  }
}

/** What the sandbox part of a rollout came to. */
interface Outcome {
  ending: RolloutEnding;
  /** null for an infrastructure failure (not a score). */
  reward: number | null;
  error: string | null;
}

/** The episode in a started sandbox, then the tests if it submitted. */
async function play(env: Environment, policy: TokenPolicy, sample: RolloutSample, deps: RolloutDeps, verifierDir: string): Promise<Outcome> {
  const { task } = sample;
  const shell = new PersistentShell(env, { user: task.config.agent.user });
  await shell.setup(deps.signal);
  const episode = await runEpisode({
    instruction: task.instruction,
    policy,
    shell,
    settings: deps.maxToolCalls === undefined ? TMAX_RL_RULES : { ...TMAX_RL_RULES, maxSteps: deps.maxToolCalls },
    signal: deps.signal,
    onEvent: (event) => deps.onEvent?.(sample.sampleIndex, event),
  });
  if (episode.ending === "interrupted") throw episode.error;
  const ending = ENDINGS[episode.ending];
  // "error": the server stayed unreachable after its retries, or refused the request.
  if (!ending) return { ending: "infra_error", reward: null, error: episode.detail ?? errorMessage(episode.error) };
  if (ending !== "submitted") return { ending, reward: 0, error: null };
  return { ending, ...(await testReward(env, task, verifierDir, deps.signal)) };
}

export async function runRollout(sample: RolloutSample, deps: RolloutDeps): Promise<Rollout> {
  const { task, sampleIndex } = sample;
  const startedAt = utcIso();
  const started = performance.now();
  const seed = deps.settings.seedBase + sampleIndex;
  const sampling = { temperature: deps.settings.temperature, topP: deps.settings.topP, seed, group: sample.groupId, policyVersion: sample.policyVersion };
  const policy = new TokenPolicy(deps.client, deps.codec, sampling, deps.settings.budgets);
  const dir = join(deps.logsDir, `${task.name}__${sample.groupId}__${sampleIndex}`);
  const logs = { agent: join(dir, "agent"), verifier: join(dir, "verifier"), artifacts: join(dir, "artifacts") };
  let env: Environment | null = null;
  let outcome: Outcome;
  try {
    env = deps.provider.createEnvironment(environmentSpecFor(task, { trialName: `${task.name}__rollout-${sampleIndex}`, logs }));
    await env.start({ signal: deps.signal });
    outcome = await play(env, policy, sample, deps, logs.verifier);
  } catch (err) {
    if (deps.signal.aborted) throw err;
    // The sandbox did not start or broke: not the model's doing, so not a score.
    outcome = { ending: "infra_error", reward: null, error: errorMessage(err) };
  } finally {
    await env?.stop().catch(() => undefined);
  }
  const stream = policy.finalStream();
  const totalSec = (performance.now() - started) / 1000;
  return {
    taskName: task.name,
    groupId: sample.groupId,
    sampleIndex,
    seed,
    policyVersion: sample.policyVersion,
    promptIds: Int32Array.from(stream.promptIds),
    responseIds: Int32Array.from(stream.responseIds),
    lossMask: Uint8Array.from(stream.lossMask),
    logprobs: Float32Array.from(stream.logprobs),
    turns: stream.turns,
    promptText: decodeAll(deps.codec, stream.promptIds),
    responseText: decodeAll(deps.codec, stream.responseIds),
    reward: outcome.reward,
    ending: outcome.ending,
    error: outcome.error,
    timings: { startedAt, finishedAt: utcIso(), modelSec: stream.modelSec, envSec: Math.max(0, totalSec - stream.modelSec) },
  };
}

/** Text of ids; no ids (a sandbox that never started has no prompt yet) is no text. */
function decodeAll(codec: PromptCodec, ids: readonly number[]): string {
  return ids.length === 0 ? "" : codec.decode(ids);
}

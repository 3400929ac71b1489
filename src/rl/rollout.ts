/**
 * One rollout: a trajectory sampled token-in/token-out for RL (rl.md §5), with its reward and how it ended (§4).
 * Token data are typed arrays so that they reach the learner in the dtypes it trains on.
 */

/**
 * How a rollout ended. The first six are the recipe's episode endings (rl.md §4); a step that exceeded the bash
 * timeout is not an ending (the episode continues with step reward 0).
 *
 * The last two are infrastructure failures, not negatives: such a rollout has no reward (null) and is excluded
 * from its group's statistics and resampled. The original scored a failed env reset 0 with a one-token response;
 * the spec names resampling as the better choice, and that is what tmax does.
 */
export const ROLLOUT_ENDINGS = [
  /** The completion marker appeared in a command's output; the tests ran and gave the reward. */
  "submitted",
  /** A model turn without a valid `bash` call (no format feedback in training). */
  "no_tool_call",
  /** All 64 tool calls used. */
  "max_steps",
  /** The response budget (65536 tokens, model and tool tokens) was used up; an observation may have been cut. */
  "token_budget",
  /** The context (67584 tokens) was full; an observation may have been cut. */
  "context_window",
  /** The container was OOM-killed. */
  "oom_killed",
  /** The environment could not be reset (image missing, engine unreachable) after its retries. */
  "reset_failed",
  /** Any other failure of the infrastructure (inference server, container engine) during the episode. */
  "infra_error",
] as const;

export type RolloutEnding = (typeof ROLLOUT_ENDINGS)[number];

/** True for the endings that say nothing about the policy: excluded from scoring and resampled. */
export function isInfraFailure(ending: RolloutEnding): boolean {
  return ending === "reset_failed" || ending === "infra_error";
}

/** Why the inference engine stopped a model turn: at EOS ("stop") or at its max_tokens ("length"). */
export type TurnFinishReason = "stop" | "length";

/** One model turn: the response positions [start, end) the model sampled in that call (loss mask 1). */
export interface RolloutTurn {
  start: number;
  end: number;
  finishReason: TurnFinishReason;
}

export interface RolloutTimings {
  /** UTC ISO timestamps. */
  startedAt: string;
  finishedAt: string;
  /** Seconds spent waiting for the inference engine. */
  modelSec: number;
  /** Seconds spent in the environment: reset, commands and the tests. */
  envSec: number;
}

export interface Rollout {
  taskName: string;
  /** The prompt group (the G samples of one task admitted together); also the engine's prefix-cache salt. */
  groupId: string;
  /** j in 0..G−1. */
  sampleIndex: number;
  /** The sampling seed (42 + j in the recipe). */
  seed: number;
  /** The weights version (model step) when the prompt was admitted; staleness is measured from it (rl.md §3). */
  policyVersion: number;
  /** The chat-templated prompt (system + user + generation prompt). */
  promptIds: Int32Array;
  /** Everything after the prompt: model tokens and observation tokens, in order. */
  responseIds: Int32Array;
  /** Per response token: 1 = sampled by the model, 0 = observation, role header, forced `<think>\n`. */
  lossMask: Uint8Array;
  /** Per response token: the engine's logprob of the sampled token after temperature; 0 on observation tokens, NaN
   *  where there is none (the synthetic EOS of an empty response). */
  logprobs: Float32Array;
  /** The model turns in order; the last one's finish reason is the rollout's. Empty when the model never ran. */
  turns: RolloutTurn[];
  promptText: string;
  responseText: string;
  /** The trajectory reward R in [0, 1] (the last step's reward); null for an infrastructure failure. */
  reward: number | null;
  ending: RolloutEnding;
  /** What went wrong, for infrastructure failures; otherwise null. */
  error: string | null;
  timings: RolloutTimings;
}

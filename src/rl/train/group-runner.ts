import type { EnvironmentProvider } from "../../environment/environment.js";
import type { Task } from "../../task/task.js";
import type { WorkPool } from "../../util/work-pool.js";
import type { PromptCodec } from "../token-policy.js";
import type { Rollout } from "../rollout.js";
import { isInfraFailure } from "../rollout.js";
import { runRollout, type RolloutDeps, type RolloutSettings } from "../rollout-runner.js";
import type { EndpointPool } from "./endpoints.js";

/**
 * One prompt group: the G rollouts of one task, all tagged with the weights version at admission (spec rl.md §3),
 * each in a sandbox of the shared pool. A rollout that ends as an infrastructure failure (the sandbox did not start,
 * the server stayed unreachable) is sampled again, with the same seed, up to `infraRetries` times — it is not the
 * model's doing, so it is not scored; one still failing after that is left out of the group (group-filter.ts).
 */

export interface GroupRunDeps {
  provider: EnvironmentProvider;
  endpoints: EndpointPool;
  codec: PromptCodec;
  settings: RolloutSettings;
  maxToolCalls: number;
  pool: WorkPool;
  logsDir: string;
  infraRetries: number;
  signal: AbortSignal;
  /** A rollout started (true) or ended (false) in a sandbox. */
  onActivity?: (started: boolean) => void;
}

export interface GroupRun {
  /** The prompt's number in the stream. */
  prompt: number;
  task: Task;
  groupId: string;
  policyVersion: number;
  /** Infrastructure failures sampled again. */
  resampled: number;
}

async function oneRollout(run: GroupRun, sampleIndex: number, deps: GroupRunDeps, rolloutDeps: RolloutDeps): Promise<Rollout> {
  for (let attempt = 0; ; attempt++) {
    deps.onActivity?.(true);
    let rollout: Rollout;
    try {
      rollout = await runRollout({ task: run.task, groupId: run.groupId, sampleIndex, policyVersion: run.policyVersion }, rolloutDeps);
    } finally {
      deps.onActivity?.(false);
    }
    if (!isInfraFailure(rollout.ending) || attempt >= deps.infraRetries) return rollout;
    run.resampled++;
  }
}

/** Runs the group's G rollouts through the pool; resolves with them in sample order. */
export async function runGroup(run: GroupRun, groupSize: number, deps: GroupRunDeps): Promise<Rollout[]> {
  const rolloutDeps: RolloutDeps = {
    provider: deps.provider,
    client: deps.endpoints,
    codec: deps.codec,
    settings: deps.settings,
    logsDir: deps.logsDir,
    signal: deps.signal,
    maxToolCalls: deps.maxToolCalls,
  };
  return Promise.all(Array.from({ length: groupSize }, (_, j) => deps.pool.run(() => oneRollout(run, j, deps, rolloutDeps))));
}

import type { Rollout } from "../../src/rl/rollout.js";

/** A small synthetic rollout: a 3-token prompt, a 5-token response with one observation token in the middle. */
export function syntheticRollout(groupId: string, sampleIndex: number, reward: number, over: Partial<Rollout> = {}): Rollout {
  const base = 100 + 10 * sampleIndex;
  return {
    taskName: `task-${groupId}`,
    groupId,
    sampleIndex,
    seed: 42 + sampleIndex,
    policyVersion: 0,
    promptIds: Int32Array.from([base, base + 1, base + 2]),
    responseIds: Int32Array.from([base + 3, base + 4, 500, base + 5, base + 6]),
    lossMask: Uint8Array.from([1, 1, 0, 1, 1]),
    logprobs: Float32Array.from([-1.5, -2, 0, -0.5, -3]),
    turns: [{ start: 0, end: 5, finishReason: "stop" }],
    promptText: "",
    responseText: "",
    reward,
    ending: "submitted",
    error: null,
    timings: { startedAt: "2026-01-01T00:00:00.000Z", finishedAt: "2026-01-01T00:00:01.000Z", modelSec: 1, envSec: 0 },
    ...over,
  };
}

import { filterGroups, type FilterCounts, type RolloutGroup } from "./group-filter.js";
import { packTrajectories, rowLimitFor, type PackedRow } from "./packing.js";
import type { Rollout } from "./rollout.js";

/**
 * From finished rollouts to the rows of one learner step: rollouts are grouped by prompt group, the groups judged
 * (filterGroups: staleness, infrastructure failures, zero variance), the scored rollouts of kept groups packed in
 * order, and each given its group's centered advantage.
 */

export interface StepBatchOptions {
  /** The learner's weights version now; staleness is measured from it. */
  currentStep: number;
  padTokenId: number;
  /** Data-parallel ranks (each needs a row); default 1. */
  dpSize?: number;
  /** Most tokens in a row; default rowLimitFor's recipe length. */
  packLength?: number;
}

export interface StepBatch {
  rows: PackedRow[];
  /** Advantage of batch trajectory i (the rows' mask value i + 1). */
  advantages: Float32Array;
  /** The packed rollouts, in batch order. */
  trajectories: Rollout[];
  counts: FilterCounts;
}

/** Groups by groupId in order of first appearance; a group's model step is its oldest member's policy version. */
export function groupRollouts(rollouts: readonly Rollout[]): RolloutGroup<Rollout>[] {
  const byId = new Map<string, Rollout[]>();
  for (const r of rollouts) {
    const members = byId.get(r.groupId);
    if (members) members.push(r);
    else byId.set(r.groupId, [r]);
  }
  return [...byId.values()].map((members) => ({ modelStep: Math.min(...members.map((m) => m.policyVersion)), members }));
}

export function buildStepBatch(rollouts: readonly Rollout[], options: StepBatchOptions): StepBatch {
  const { kept, counts } = filterGroups(groupRollouts(rollouts), options.currentStep);
  const trajectories: Rollout[] = [];
  const advantages: number[] = [];
  for (const { group, scored, advantages: groupAdvantages } of kept) {
    scored.forEach((member, k) => {
      trajectories.push(group.members[member]!);
      advantages.push(groupAdvantages[k]!);
    });
  }
  const totalTokens = trajectories.reduce((n, t) => n + t.promptIds.length + t.responseIds.length, 0);
  const rowLimit = rowLimitFor(totalTokens, options.dpSize ?? 1, options.packLength);
  const rows = packTrajectories(trajectories, { rowLimit, padTokenId: options.padTokenId });
  return { rows, advantages: Float32Array.from(advantages), trajectories, counts };
}

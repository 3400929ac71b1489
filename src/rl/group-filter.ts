import { centeredAdvantages } from "./advantages.js";
import { isInfraFailure, type RolloutEnding } from "./rollout.js";

/**
 * Which finished prompt groups train (rl.md §3), in the order the checks apply:
 *  1. stale: `currentStep − group.modelStep > maxStaleness` (4 in the recipe) → dropped whatever its rewards;
 *  2. infrastructure failures (`reset_failed`, `infra_error`) are not negatives: those rollouts are left out of the
 *     group's statistics (the engine should resample them before the group is judged; what is left out here is
 *     what it could not replace). A group with no rollout left is dropped;
 *  3. zero variance: all remaining rewards equal (in float32) → dropped, counted as all-zero, all-one or (for a
 *     fractional reward) constant;
 *  4. otherwise kept, with centered advantages for the scored rollouts.
 * With active sampling the caller keeps pulling prompts until enough groups are kept; every judged group, kept or
 * not, is one consumed prompt.
 */

/** The staleness bound of the recipe: the async depth, 4 steps. */
const MAX_STALENESS = 4;

export interface GroupMember {
  /** R in [0, 1]; null (ignored) for an infrastructure failure. */
  reward: number | null;
  ending: RolloutEnding;
}

export interface RolloutGroup<M extends GroupMember = GroupMember> {
  /** The weights version when the group's prompt was admitted. */
  modelStep: number;
  members: readonly M[];
}

export type GroupVerdict =
  | {
      kind: "kept";
      /** Positions in `members` of the scored rollouts (all but infrastructure failures), ascending. */
      scored: number[];
      /** Centered advantage of each scored rollout, aligned with `scored`. */
      advantages: Float32Array;
    }
  | { kind: "stale" | "no_scored_rollouts" | "all_zero" | "all_one" | "constant" };

export function judgeGroup(group: RolloutGroup, currentStep: number, maxStaleness = MAX_STALENESS): GroupVerdict {
  if (currentStep - group.modelStep > maxStaleness) return { kind: "stale" };
  const scored: number[] = [];
  const rewards: number[] = [];
  group.members.forEach((m, i) => {
    if (isInfraFailure(m.ending)) return;
    if (m.reward === null || !(m.reward >= 0 && m.reward <= 1)) {
      throw new RangeError(`group member ${i} (ending ${m.ending}) needs a reward in [0, 1], got ${m.reward}`);
    }
    scored.push(i);
    rewards.push(m.reward);
  });
  if (scored.length === 0) return { kind: "no_scored_rollouts" };
  const first = Math.fround(rewards[0]!);
  if (rewards.every((r) => Math.fround(r) === first)) {
    return { kind: first === 0 ? "all_zero" : first === 1 ? "all_one" : "constant" };
  }
  return { kind: "kept", scored, advantages: centeredAdvantages(rewards) };
}

export interface FilterCounts {
  kept: number;
  stale: number;
  allZero: number;
  allOne: number;
  /** Zero variance at a fractional reward. */
  constant: number;
  /** Groups whose every rollout was an infrastructure failure. */
  noScoredRollouts: number;
  /** Rollouts left out as infrastructure failures, over the groups that were not stale. */
  infraFailures: number;
}

export interface KeptGroup<G> {
  group: G;
  scored: number[];
  advantages: Float32Array;
}

/** Judges each group; the kept ones in input order, and counts of every outcome for the step's log. */
export function filterGroups<G extends RolloutGroup>(
  groups: readonly G[],
  currentStep: number,
  maxStaleness = MAX_STALENESS,
): { kept: KeptGroup<G>[]; counts: FilterCounts } {
  const counts: FilterCounts = { kept: 0, stale: 0, allZero: 0, allOne: 0, constant: 0, noScoredRollouts: 0, infraFailures: 0 };
  const kept: KeptGroup<G>[] = [];
  for (const group of groups) {
    const verdict = judgeGroup(group, currentStep, maxStaleness);
    if (verdict.kind !== "stale") counts.infraFailures += group.members.filter((m) => isInfraFailure(m.ending)).length;
    switch (verdict.kind) {
      case "kept":
        counts.kept++;
        kept.push({ group, scored: verdict.scored, advantages: verdict.advantages });
        break;
      case "stale":
        counts.stale++;
        break;
      case "no_scored_rollouts":
        counts.noScoredRollouts++;
        break;
      case "all_zero":
        counts.allZero++;
        break;
      case "all_one":
        counts.allOne++;
        break;
      case "constant":
        counts.constant++;
        break;
    }
  }
  return { kept, counts };
}

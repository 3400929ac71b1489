import type { TrialRecord } from "../stats/records.js";
import { primaryReward } from "../verifier/reward.js";

/**
 * Difficulty tiers (spec datagen.md §6): the one definition of their names, order, thresholds, rule text and target
 * shares. `gen solve` tiers tasks with it, `gen analyze`, `gen export` and the HTML report order and describe them
 * with it.
 */

export const TIERS = ["frontier", "advanced_plus", "advanced", "core", "easy"] as const;
export type Tier = (typeof TIERS)[number];

export interface TierDefinition {
  tier: Tier;
  /** Which of the reference models' tier accuracies the rule looks at. */
  of: "max" | "min";
  /** The tier applies when that accuracy is below this (null: always, for the last tier). */
  below: number | null;
  /** The lower bound the earlier tiers imply (for the rule text); null when there is none. */
  from: number | null;
  /** Target share of the corpus; null for a tier that is not benchmark-worthy. */
  target: string | null;
  benchmarkWorthy: boolean;
}

/** In order; the first tier whose rule matches wins. */
export const TIER_DEFINITIONS: readonly TierDefinition[] = [
  { tier: "frontier", of: "max", below: 0.4, from: null, target: "10–20%", benchmarkWorthy: true },
  { tier: "advanced_plus", of: "min", below: 0.4, from: null, target: "30–40%", benchmarkWorthy: true },
  { tier: "advanced", of: "min", below: 0.6, from: 0.4, target: "20–30%", benchmarkWorthy: true },
  { tier: "core", of: "min", below: 0.8, from: 0.6, target: "20–30%", benchmarkWorthy: true },
  { tier: "easy", of: "min", below: null, from: 0.8, target: null, benchmarkWorthy: false },
];

const BY_NAME = new Map<string, TierDefinition>(TIER_DEFINITIONS.map((d) => [d.tier, d]));

/**
 * Difficulty tier from the per-task tier accuracies of one or two reference models (first match wins):
 * frontier if max < 0.40; advanced_plus if min < 0.40; advanced if min < 0.60; core if min < 0.80; else easy.
 */
export function tierFor(accA: number, accB: number = accA): Tier {
  const value = { max: Math.max(accA, accB), min: Math.min(accA, accB) };
  for (const d of TIER_DEFINITIONS) if (d.below === null || value[d.of] < d.below) return d.tier;
  return "easy";
}

const pct = (x: number): string => `${Math.round(x * 100)}%`;

/** The rule of a tier as text, e.g. "40% ≤ min accuracy < 60%". */
export function tierRule(d: TierDefinition): string {
  if (d.below === null) return `${d.of} accuracy ≥ ${pct(d.from ?? 0)}`;
  return `${d.from !== null ? `${pct(d.from)} ≤ ` : ""}${d.of} accuracy < ${pct(d.below)}`;
}

/** The target share of a tier as text ("target 10–20%", or "not benchmark-worthy"). */
export function tierTarget(d: TierDefinition): string {
  return d.target !== null ? `target ${d.target}` : "not benchmark-worthy";
}

/** The definition of a tier name; undefined for names this version does not know (e.g. a hand-edited corpus). */
export function tierDefinition(name: string): TierDefinition | undefined {
  return BY_NAME.get(name);
}

/** Position of a tier in TIERS; unknown names sort after every known tier. */
export function tierRank(name: string): number {
  const i = (TIERS as readonly string[]).indexOf(name);
  return i < 0 ? TIERS.length : i;
}

/** Every tier but easy is benchmark-worthy (names this version does not know count as worthy). */
export function isBenchmarkWorthy(name: string): boolean {
  return tierDefinition(name)?.benchmarkWorthy ?? true;
}

/**
 * The unit of tier accuracy (datagen.md §6): an attempt whose primary reward is > 0 and that raised no exception (an
 * exception counts as 0 even when a reward exists). This is not "solved" (`isSolved` in verifier/reward.ts: primary
 * reward ≥ 1): a graded reward of 0.5 counts here.
 */
export function isRewardedAttempt(r: Pick<TrialRecord, "exceptionType" | "rewards">): boolean {
  return !r.exceptionType && (primaryReward(r.rewards) ?? 0) > 0;
}

import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { parsePythonFloat } from "../util/python-float.js";
import { RewardFileEmptyError, RewardFileNotFoundError, VerifierOutputParseError } from "../harbor/exceptions.js";

export type Rewards = Record<string, number>;

/** reward.json: a flat object of numbers. */
export function parseRewardJson(text: string): Rewards {
  if (text.trim() === "") throw new RewardFileEmptyError("reward.json is empty");
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new VerifierOutputParseError(`reward.json is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new VerifierOutputParseError("reward.json must be a flat object of {name: number}");
  }
  const out: Rewards = {};
  for (const [k, v] of Object.entries(data)) {
    if (typeof v === "boolean") out[k] = v ? 1 : 0;
    else if (typeof v === "number") out[k] = v;
    else throw new VerifierOutputParseError(`reward.json: "${k}" must be a number, got ${JSON.stringify(v)}`);
  }
  return out;
}

/** reward.txt: one number, read with Python float() rules. */
export function parseRewardTxt(text: string): Rewards {
  const trimmed = text.trim();
  if (trimmed === "") throw new RewardFileEmptyError("reward.txt is empty");
  try {
    return { reward: parsePythonFloat(trimmed) };
  } catch {
    throw new VerifierOutputParseError(`reward.txt does not hold a number: ${JSON.stringify(trimmed.slice(0, 200))}`);
  }
}

/**
 * The reward contract on the two files' contents (null = the file does not exist): reward.json wins over
 * reward.txt; neither is RewardFileNotFoundError. Also says which file decided.
 */
export function rewardsFromFiles(files: { json: string | null; txt: string | null }): { file: "reward.json" | "reward.txt"; rewards: Rewards } {
  if (files.json !== null) return { file: "reward.json", rewards: parseRewardJson(files.json) };
  if (files.txt !== null) return { file: "reward.txt", rewards: parseRewardTxt(files.txt) };
  throw new RewardFileNotFoundError("the verifier wrote neither /logs/verifier/reward.json nor /logs/verifier/reward.txt");
}

/** The reward contract on the verifier's files (see rewardsFromFiles). */
export async function readRewards(rewardJsonPath: string, rewardTxtPath: string): Promise<Rewards> {
  const read = async (p: string): Promise<string | null> => (existsSync(p) ? readFile(p, "utf8") : null);
  return rewardsFromFiles({ json: await read(rewardJsonPath), txt: await read(rewardTxtPath) }).rewards;
}

/** The key every Harbor verifier writes by default (reward.txt becomes {"reward": x}). */
export const PRIMARY_REWARD_KEY = "reward";

/**
 * The reward that means "the score" when a verifier reports several: `reward` when any of the given reward maps has
 * it, else the first key in sorted order. One definition for tables, live progress, `tmax agent` and `gen solve`.
 */
export function primaryRewardKey(maps: Iterable<Rewards | null | undefined>): string {
  let smallest: string | null = null;
  for (const m of maps) {
    if (!m) continue;
    for (const k of Object.keys(m)) {
      if (k === PRIMARY_REWARD_KEY) return k;
      if (smallest === null || k < smallest) smallest = k;
    }
  }
  return smallest ?? PRIMARY_REWARD_KEY;
}

/** A trial's primary reward (see primaryRewardKey); null when it has no rewards or lacks that key. */
export function primaryReward(rewards: Rewards | null | undefined): number | null {
  if (!rewards) return null;
  return rewards[primaryRewardKey([rewards])] ?? null;
}

/**
 * Solved: the primary reward is at least 1 (for binary rewards: exactly 1, Harbor's pass@k success). Missing
 * rewards are not solved. `key` picks the reward to judge when a caller fixed one for a whole job.
 */
export function isSolved(rewards: Rewards | null | undefined, key?: string): boolean {
  const value = key === undefined ? primaryReward(rewards) : (rewards?.[key] ?? null);
  return value !== null && value >= 1;
}

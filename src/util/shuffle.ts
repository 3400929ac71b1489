import { uniformInt } from "pure-rand/distribution/uniformInt";
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";

/** A seeded permutation of 0..length-1 (Fisher–Yates on xoroshiro128+): the same (length, seed) gives the same order
 *  on every machine. */
export function seededPermutation(length: number, seed: number): number[] {
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`length must be an integer ≥ 0, not ${length}`);
  if (!Number.isSafeInteger(seed)) throw new RangeError(`the seed must be an integer, not ${seed}`);
  const rng = xoroshiro128plus(seed);
  const order = Array.from({ length }, (_, i) => i);
  for (let i = length - 1; i > 0; i--) {
    const j = uniformInt(rng, 0, i);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

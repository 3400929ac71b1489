/**
 * Centered advantages of one prompt group (rl.md §3): A_i = R_i − mean_j R_j, with no division by the standard
 * deviation and no clipping.
 *
 * The arithmetic is float32 throughout, as a float32 tensor computes `r - r.mean()`: the rewards are rounded to
 * float32, summed in float32 in order, the sum divided by G in float32, and each difference rounded to float32.
 * For pass/fail rewards (0 or 1) every step is exact and the result equals PyTorch's bit for bit. For arbitrary
 * fractional rewards PyTorch's vectorised CPU sum (its order depends on the CPU's vector width) can round
 * differently: against PyTorch 2.13 on AVX-512, random groups matched bit for bit below 16 rewards and stayed
 * within 2e-7 above.
 */
export function centeredAdvantages(rewards: readonly number[]): Float32Array {
  if (rewards.length === 0) throw new RangeError("a group needs at least one reward");
  const r = Float32Array.from(rewards);
  let sum = 0;
  for (const x of r) sum = Math.fround(sum + x);
  const mean = Math.fround(sum / r.length);
  return r.map((x) => Math.fround(x - mean));
}

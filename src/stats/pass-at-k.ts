/**
 * Unbiased pass@k (Chen et al.): for a task with n attempts and c successes,
 * pass@k = 1 − C(n−c, k) / C(n, k), computed as a product to stay exact for large n.
 */
export function passAtKForTask(n: number, c: number, k: number): number {
  if (k <= 0 || k > n) throw new RangeError(`pass@${k} needs 1 <= k <= n (n = ${n})`);
  if (n - c < k) return 1;
  let failAll = 1;
  for (let i = 0; i < k; i++) failAll *= (n - c - i) / (n - i);
  return 1 - failAll;
}

/** Harbor's k values: {2, 4, 8, 16, …} ∪ {5, 10, 15, …}, each ≤ the smallest attempt count over tasks. */
export function harborKValues(minAttempts: number): number[] {
  const ks = new Set<number>();
  for (let k = 2; k <= minAttempts; k *= 2) ks.add(k);
  for (let k = 5; k <= minAttempts; k += 5) ks.add(k);
  return [...ks].sort((a, b) => a - b);
}

export interface TaskOutcomes {
  /** Attempts. */
  n: number;
  /** Successful attempts. */
  c: number;
}

/** Mean pass@k over tasks for each k, keyed by k as a string (Harbor's JSON shape). */
export function passAtK(tasks: TaskOutcomes[], ks: number[] = harborKValues(Math.min(...tasks.map((t) => t.n)))): Record<string, number> {
  const out: Record<string, number> = {};
  if (tasks.length === 0) return out;
  for (const k of ks) {
    out[String(k)] = tasks.reduce((s, t) => s + passAtKForTask(t.n, t.c, k), 0) / tasks.length;
  }
  return out;
}

/**
 * How much of a time window generation was running: rollouts report when they start and end in a sandbox, and
 * `overlap(from, to)` is the fraction of [from, to] during which at least one was active. The recipe's goal is that
 * the learner's step time is almost all overlapped by generation (bench/rl-toy: > 80%).
 */
export class ActivityClock {
  private active = 0;
  private since = 0;
  /** Closed busy intervals, oldest first; trimmed to the last window asked about. */
  private intervals: [number, number][] = [];

  constructor(private readonly now: () => number = () => performance.now()) {}

  get running(): number {
    return this.active;
  }

  mark(started: boolean): void {
    const t = this.now();
    if (started) {
      if (this.active++ === 0) this.since = t;
    } else if (--this.active === 0) {
      this.intervals.push([this.since, t]);
    }
  }

  /** Busy fraction of [from, to] (0 for an empty window). */
  overlap(from: number, to: number): number {
    if (!(to > from)) return 0;
    const spans = this.active > 0 ? [...this.intervals, [this.since, to] as [number, number]] : this.intervals;
    let busy = 0;
    for (const [a, b] of spans) busy += Math.max(0, Math.min(b, to) - Math.max(a, from));
    this.intervals = this.intervals.filter(([, b]) => b > from);
    return busy / (to - from);
  }
}

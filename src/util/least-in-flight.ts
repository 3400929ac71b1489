/**
 * Spreads work over interchangeable members (inference endpoints, container engines): each piece of work goes to the
 * member with the fewest pieces in flight (ties: the first). A member that failed may be benched for a while: it gets
 * no new work until then.
 */

interface Slot<T> {
  member: T;
  inFlight: number;
  benchedUntil: number;
}

export interface Lease<T> {
  readonly member: T;
  /** Ends this piece of work's claim on the member (idempotent). */
  release(): void;
}

export class LeastInFlight<T> {
  private readonly slots: Slot<T>[];

  constructor(
    members: readonly T[],
    private readonly now: () => number = Date.now,
  ) {
    if (members.length === 0) throw new RangeError("LeastInFlight needs at least one member");
    this.slots = members.map((member) => ({ member, inFlight: 0, benchedUntil: 0 }));
  }

  get members(): T[] {
    return this.slots.map((s) => s.member);
  }

  /** Work in flight on `member` (on all members when omitted). */
  inFlight(member?: T): number {
    return this.slots.filter((s) => member === undefined || s.member === member).reduce((n, s) => n + s.inFlight, 0);
  }

  /** Claims the least-loaded member that is not benched (among those `eligible` picks), or null when every one is. */
  acquire(eligible: (member: T) => boolean = () => true): Lease<T> | null {
    const now = this.now();
    let best: Slot<T> | null = null;
    for (const s of this.slots) {
      if (s.benchedUntil > now || !eligible(s.member)) continue;
      if (!best || s.inFlight < best.inFlight) best = s;
    }
    if (!best) return null;
    const slot = best;
    slot.inFlight++;
    let released = false;
    return {
      member: slot.member,
      release: () => {
        if (released) return;
        released = true;
        slot.inFlight--;
      },
    };
  }

  /** Gives `member` no new work for `ms` milliseconds. */
  bench(member: T, ms: number): void {
    for (const s of this.slots) if (s.member === member) s.benchedUntil = Math.max(s.benchedUntil, this.now() + ms);
  }

  isBenched(member: T): boolean {
    return this.slots.some((s) => s.member === member && s.benchedUntil > this.now());
  }

  /** Milliseconds until some member (of those `eligible` picks) is available again (0 when one is now). */
  nextAvailableIn(eligible: (member: T) => boolean = () => true): number {
    const now = this.now();
    return Math.max(0, Math.min(...this.slots.filter((s) => eligible(s.member)).map((s) => s.benchedUntil - now)));
  }
}

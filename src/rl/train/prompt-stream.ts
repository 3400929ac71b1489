import { seededPermutation } from "../../util/shuffle.js";

/**
 * The prompt stream (spec rl.md §3): it cycles the dataset, reshuffled each epoch. Prompt k (k = 0, 1, 2, …) is task
 * `order(epoch)[k mod n]` with epoch = floor(k / n), the order a seeded permutation (seed + epoch): so the stream is
 * a pure function of k and a run resumes it from a few numbers.
 *
 * The cursor tracks which prompts are *pending*: admitted but not yet finished with (in flight, or kept and waiting
 * for a step). Its position — the next k and the pending ks — is saved with each learner step; a resumed run admits
 * the pending prompts again first, in order, then continues: no prompt is skipped, none is seen twice.
 */

export interface StreamPosition {
  next: number;
  pending: number[];
}

export class PromptStream {
  private readonly orders = new Map<number, number[]>();
  private next: number;
  private readonly pending = new Set<number>();
  /** Pending prompts of a resumed run not admitted again yet, in order. */
  private readonly replay: number[];

  constructor(
    private readonly taskCount: number,
    private readonly seed: number,
    from: StreamPosition = { next: 0, pending: [] },
  ) {
    if (!Number.isSafeInteger(taskCount) || taskCount < 1) throw new RangeError(`the prompt stream needs at least one task, got ${taskCount}`);
    this.next = from.next;
    this.replay = [...from.pending].sort((a, b) => a - b);
  }

  /** The task index of prompt k. */
  taskOf(k: number): number {
    const epoch = Math.floor(k / this.taskCount);
    let order = this.orders.get(epoch);
    if (!order) {
      order = seededPermutation(this.taskCount, this.seed + epoch);
      this.orders.set(epoch, order);
      if (this.orders.size > 4) this.orders.delete(this.orders.keys().next().value!);
    }
    return order[k % this.taskCount]!;
  }

  /** Admits the next prompt: its number k (pending until `finish(k)`). */
  admit(): number {
    const k = this.replay.shift() ?? this.next++;
    this.pending.add(k);
    return k;
  }

  finish(k: number): void {
    this.pending.delete(k);
  }

  position(): StreamPosition {
    return { next: this.next, pending: [...this.replay, ...this.pending].sort((a, b) => a - b) };
  }
}

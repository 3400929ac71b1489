import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { packTrajectories, rowAdvantages, rowLimitFor, SENTINEL_LOGPROB, type PackableTrajectory } from "../../src/rl/packing.js";
import { splitRowsOverRanks } from "../../src/rl/rank-split.js";

const P = 9; // prompt token
const T = 7; // tool (observation) token
const PAD = 0;

/** The packed row of rl.md §6.1: [P, a0, a1, a2, T, T, a3, P, b0, b1, b2], with its behaviour probabilities μ. */
const trajectoryA: PackableTrajectory = {
  promptIds: [P],
  responseIds: [11, 12, 13, T, T, 14],
  lossMask: [1, 1, 1, 0, 0, 1],
  logprobs: [Math.log(0.5), Math.log(0.6), Math.log(0.02), 0, 0, Math.log(0.9)],
  policyVersion: 3,
};
const trajectoryB: PackableTrajectory = {
  promptIds: [P],
  responseIds: [21, 22, 23],
  lossMask: [1, 1, 1],
  logprobs: [Math.log(0.3), Math.log(0.4), Math.log(0.05)],
  policyVersion: 4,
};

/** A trajectory of `length` tokens: one prompt token, the rest model tokens. */
function ofLength(length: number): PackableTrajectory {
  const n = length - 1;
  return { promptIds: [P], responseIds: new Array<number>(n).fill(5), lossMask: new Array<number>(n).fill(1), logprobs: new Array<number>(n).fill(-1), policyVersion: 0 };
}

describe("packing (rl.md §7)", () => {
  test("golden row of §6.1: response mask = trajectory index + 1 on model tokens, positions restart, 7 loss tokens", () => {
    const rows = packTrajectories([trajectoryA, trajectoryB], { rowLimit: rowLimitFor(11, 1), padTokenId: PAD });
    assert.equal(rows.length, 1);
    const row = rows[0]!;
    assert.deepEqual([...row.tokenIds], [P, 11, 12, 13, T, T, 14, P, 21, 22, 23]);
    assert.deepEqual([...row.responseMask], [0, 1, 1, 1, 0, 0, 1, 0, 2, 2, 2]);
    assert.deepEqual([...row.positionIds], [0, 1, 2, 3, 4, 5, 6, 0, 1, 2, 3]);
    assert.deepEqual([...row.documentIds], [1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2]);
    assert.equal(row.responseMask.filter((m) => m > 0).length, 7, "N = 7: P and T are not loss tokens");
    // μ on model tokens (float32), the sentinel 1.0 on prompt and tool tokens (stored as 0.0 in the rollout).
    const f = Math.fround;
    assert.deepEqual(
      [...row.logprobs],
      [1, f(Math.log(0.5)), f(Math.log(0.6)), f(Math.log(0.02)), 1, 1, f(Math.log(0.9)), 1, f(Math.log(0.3)), f(Math.log(0.4)), f(Math.log(0.05))],
    );
    assert.equal(row.logprobs[2], -0.5108256340026855, "ln 0.6 in float32, as PyTorch rounds it");
    assert.deepEqual(row.trajectories, [0, 1]);
    assert.deepEqual(row.policyVersions, [3, 4]);
    // Advantages A = +0.5 for a, −0.5 for b reach the model tokens only.
    assert.deepEqual([...rowAdvantages(row, [0.5, -0.5])], [0, 0.5, 0.5, 0.5, 0, 0, 0.5, 0, -0.5, -0.5, -0.5]);
  });

  test("next-fit: a new row when the next trajectory would overflow, earlier rows never revisited", () => {
    const rows = packTrajectories([3, 4, 2, 6, 1, 1].map(ofLength), { rowLimit: 6, padTokenId: PAD });
    // First-fit would have put the 1-token trajectories into the first row.
    assert.deepEqual(
      rows.map((r) => r.trajectories),
      [[0], [1, 2], [3], [4, 5]],
    );
    assert.deepEqual(
      rows.map((r) => r.tokenIds.length),
      [3, 6, 6, 2],
    );
    assert.deepEqual([...rows[1]!.responseMask], [0, 2, 2, 2, 0, 3], "mask values are batch indices + 1, not row-local");
  });

  test("a trajectory longer than the row limit gets a row of its own", () => {
    const rows = packTrajectories([2, 9, 1].map(ofLength), { rowLimit: 5, padTokenId: PAD });
    assert.deepEqual(
      rows.map((r) => r.trajectories),
      [[0], [1], [2]],
    );
    assert.equal(rows[1]!.tokenIds.length, 9);
  });

  test("sequence-parallel padding: pad token, mask 0, document 0, logprob 1.0, positions continue", () => {
    const [row] = packTrajectories([trajectoryA, trajectoryB], { rowLimit: 100, padTokenId: 99, padToMultipleOf: 4 });
    assert.equal(row!.tokenIds.length, 12);
    assert.equal(row!.tokenIds[11], 99);
    assert.equal(row!.responseMask[11], 0);
    assert.equal(row!.documentIds[11], 0);
    assert.equal(row!.logprobs[11], SENTINEL_LOGPROB);
    assert.deepEqual([...row!.positionIds.subarray(7)], [0, 1, 2, 3, 4]);
    const [exact] = packTrajectories([ofLength(8)], { rowLimit: 100, padTokenId: 99, padToMultipleOf: 4 });
    assert.equal(exact!.tokenIds.length, 8, "a row already a multiple is not padded");
  });

  test("NaN behaviour logprobs stay NaN on model tokens (the learner's sentinel rule applies)", () => {
    const [row] = packTrajectories([{ promptIds: [P, P], responseIds: [2], lossMask: [1], logprobs: [NaN], policyVersion: 0 }], { rowLimit: 10, padTokenId: PAD });
    assert.ok(Number.isNaN(row!.logprobs[2]));
    assert.deepEqual([...row!.responseMask], [0, 0, 1]);
  });

  test("row limit: min(67584, floor(total / DP)), at least 1", () => {
    assert.equal(rowLimitFor(1000, 4), 250);
    assert.equal(rowLimitFor(1003, 4), 250);
    assert.equal(rowLimitFor(10_000_000, 4), 67584);
    assert.equal(rowLimitFor(3, 4), 1);
    assert.equal(rowLimitFor(100, 1, 64), 64);
    assert.throws(() => rowLimitFor(100, 0), RangeError);
  });

  test("inconsistent trajectories are refused", () => {
    const short = { ...trajectoryB, lossMask: [1, 1] };
    assert.throws(() => packTrajectories([trajectoryA, short], { rowLimit: 100, padTokenId: PAD }), /trajectory 1: 3 response tokens but 2 mask values/);
    const badMask = { ...trajectoryB, lossMask: [1, 2, 1] };
    assert.throws(() => packTrajectories([badMask], { rowLimit: 100, padTokenId: PAD }), /mask value 2 at response position 1/);
    assert.throws(() => packTrajectories([trajectoryA], { rowLimit: 0, padTokenId: PAD }), RangeError);
    assert.throws(() => rowAdvantages(packTrajectories([trajectoryA, trajectoryB], { rowLimit: 100, padTokenId: PAD })[0]!, [0.5]), /trajectory 1/);
  });
});

describe("rows over data-parallel ranks", () => {
  /** Every row index 0..n−1 exactly once over all ranks. */
  function assertCoversOnce(split: number[][], n: number): void {
    assert.deepEqual(
      split.flat().sort((a, b) => a - b),
      Array.from({ length: n }, (_, i) => i),
    );
  }

  test("leftover rows (rows mod DP) are redistributed, not dropped: 5 rows over 2 ranks", () => {
    const split = splitRowsOverRanks([10, 50, 30, 20, 40], 2);
    // Longest first onto the lighter rank: 50→0, 40→1, 30→1, 20→0, 10→0 (tie at 70 tokens: lower rank).
    assert.deepEqual(split, [
      [0, 1, 3],
      [2, 4],
    ]);
  });

  test("tokens balanced within equal row counts", () => {
    // A contiguous split would give 200 and 2 tokens.
    assert.deepEqual(splitRowsOverRanks([100, 100, 1, 1], 2), [
      [0, 2],
      [1, 3],
    ]);
  });

  test("fewer rows than ranks: some ranks get none", () => {
    assert.deepEqual(splitRowsOverRanks([5, 7], 4), [[1], [0], [], []]);
    assert.deepEqual(splitRowsOverRanks([], 3), [[], [], []]);
  });

  test("every row exactly once, row counts differ by at most one, deterministic, each rank in batch order", () => {
    let seed = 12345;
    const next = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let trial = 0; trial < 200; trial++) {
      const dp = 1 + (next() % 8);
      const lengths = Array.from({ length: next() % 40 }, () => 1 + (next() % 67584));
      const split = splitRowsOverRanks(lengths, dp);
      assert.equal(split.length, dp);
      assertCoversOnce(split, lengths.length);
      const counts = split.map((r) => r.length);
      assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `row counts ${counts.join(",")}`);
      for (const rows of split) assert.deepEqual(rows, [...rows].sort((a, b) => a - b));
      assert.deepEqual(splitRowsOverRanks(lengths, dp), split);
    }
  });

  test("a bad data-parallel size is refused", () => {
    assert.throws(() => splitRowsOverRanks([1], 0), RangeError);
  });
});

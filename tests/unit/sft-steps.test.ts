import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { SftExample } from "../../src/rl/sft/sft-dataset.js";
import { planSftSteps, sftStepRows } from "../../src/rl/sft/sft-steps.js";
import { seededPermutation } from "../../src/util/shuffle.js";

const example = (ids: number[], mask: number[]): SftExample => ({ inputIds: ids, lossMask: mask, source: "t.jsonl:1" });

describe("SFT steps", () => {
  test("a seeded permutation: every index once, the same for a seed, another for another seed", () => {
    const a = seededPermutation(50, 7);
    assert.deepEqual([...a].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
    assert.deepEqual(seededPermutation(50, 7), a);
    assert.notDeepEqual(seededPermutation(50, 8), a);
    assert.deepEqual(seededPermutation(0, 1), []);
    assert.throws(() => seededPermutation(-1, 0), RangeError);
  });

  test("each epoch visits every example once in an order of its own, batchSize per step, the last step short", () => {
    const steps = planSftSteps(7, { epochs: 2, batchSize: 3, seed: 11 });
    assert.deepEqual(steps.map((s) => [s.epoch, s.examples.length]), [[1, 3], [1, 3], [1, 1], [2, 3], [2, 3], [2, 1]]);
    const epoch = (e: number): number[] => steps.filter((s) => s.epoch === e).flatMap((s) => s.examples);
    assert.deepEqual([...epoch(1)].sort(), [0, 1, 2, 3, 4, 5, 6]);
    assert.deepEqual([...epoch(2)].sort(), [0, 1, 2, 3, 4, 5, 6]);
    assert.notDeepEqual(epoch(1), epoch(2));
    assert.deepEqual(planSftSteps(7, { epochs: 2, batchSize: 3, seed: 11 }), steps, "seeded");
    assert.throws(() => planSftSteps(7, { epochs: 0, batchSize: 3, seed: 0 }), /epochs/);
    assert.throws(() => planSftSteps(7, { epochs: 1, batchSize: 0, seed: 0 }), /batch size/);
  });

  test("examples are packed whole into rows: loss mask → response mask (example index + 1), long ones cut", () => {
    const { rows, truncated } = sftStepRows(
      [example([1, 2, 3, 4], [0, 0, 1, 1]), example([5, 6, 7], [0, 1, 1]), example([8, 9, 10, 11, 12, 13], [0, 0, 0, 1, 1, 1])],
      { packLength: 5, padTokenId: 0 },
    );
    assert.equal(truncated, 1);
    assert.deepEqual(rows.map((r) => [...r.tokenIds]), [[1, 2, 3, 4], [5, 6, 7], [8, 9, 10, 11, 12]]);
    assert.deepEqual(rows.map((r) => [...r.responseMask]), [[0, 0, 1, 1], [0, 2, 2], [0, 0, 0, 3, 3]]);
    assert.deepEqual(rows.map((r) => [...r.positionIds]), [[0, 1, 2, 3], [0, 1, 2], [0, 1, 2, 3, 4]]);
    const shared = sftStepRows([example([1, 2], [0, 1]), example([3, 4], [1, 1])], { packLength: 8, padTokenId: 0 });
    assert.deepEqual(shared.rows.map((r) => [...r.documentIds]), [[1, 1, 2, 2]], "two examples share a row; attention stays within each");
    const split = sftStepRows([example([1, 2], [0, 1]), example([3, 4], [1, 1])], { packLength: 8, padTokenId: 0, dpSize: 2 });
    assert.equal(split.rows.length, 2, "a row per data-parallel rank");
  });
});

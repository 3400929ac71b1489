import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { centeredAdvantages } from "../../src/rl/advantages.js";
import { filterGroups, judgeGroup, type GroupMember, type RolloutGroup } from "../../src/rl/group-filter.js";

/** The float32 bit patterns of an array, to compare without any tolerance. */
const bits = (a: Float32Array): number[] => [...new Uint32Array(a.buffer, a.byteOffset, a.length)];

const solved = (reward: number): GroupMember => ({ reward, ending: reward === 1 ? "submitted" : "no_tool_call" });
const infra: GroupMember = { reward: null, ending: "infra_error" };
const group = (rewards: (number | null)[], modelStep = 10): RolloutGroup => ({
  modelStep,
  members: rewards.map((r) => (r === null ? infra : solved(r))),
});

describe("centered advantages (rl.md §3)", () => {
  test("golden vector: rewards [1, 0, 0, 1] → [0.5, −0.5, −0.5, 0.5], no std division", () => {
    assert.deepEqual([...centeredAdvantages([1, 0, 0, 1])], [0.5, -0.5, -0.5, 0.5]);
  });

  test("float32 arithmetic: 5 of 11 solved gives PyTorch's float32 values, not float64's", () => {
    // torch.tensor(r, dtype=torch.float32); r - r.mean()  (PyTorch 2.13)
    const a = centeredAdvantages([1, 0, 0, 1, 0, 0, 0, 1, 1, 1, 0]);
    assert.equal(a[0], 0.5454545021057129);
    assert.equal(a[1], -0.4545454680919647);
    assert.notEqual(a[0], 1 - 5 / 11, "float64 would give 0.545454545454…");
  });

  test("fractional rewards: bit-identical to PyTorch float32 for a small group", () => {
    // PyTorch 2.13: (t - t.mean()).numpy().view('uint32') for t = [0.1, 0.7, 0.3] and [1, 0, 0]
    assert.deepEqual(bits(centeredAdvantages([0.1, 0.7, 0.3])), [3196618889, 1051372202, 3179841672]);
    assert.deepEqual(bits(centeredAdvantages([1, 0, 0])), [1059760810, 3198855851, 3198855851]);
  });

  test("an empty group is refused", () => {
    assert.throws(() => centeredAdvantages([]), RangeError);
  });
});

describe("group filter (rl.md §3)", () => {
  test("golden vector: [1,0,0,1 | 0,0,0,0 | 1,1,1,1] keeps group 1 only; one all-zero and one all-one drop", () => {
    const groups = [group([1, 0, 0, 1]), group([0, 0, 0, 0]), group([1, 1, 1, 1])];
    const { kept, counts } = filterGroups(groups, 10);
    assert.equal(kept.length, 1);
    assert.equal(kept[0]!.group, groups[0]);
    assert.deepEqual(kept[0]!.scored, [0, 1, 2, 3]);
    assert.deepEqual([...kept[0]!.advantages], [0.5, -0.5, -0.5, 0.5]);
    assert.deepEqual(counts, { kept: 1, stale: 0, allZero: 1, allOne: 1, constant: 0, noScoredRollouts: 0, infraFailures: 0 });
  });

  test("staleness: current step − model step > 4 drops the group, exactly 4 does not", () => {
    assert.equal(judgeGroup(group([1, 0], 6), 10).kind, "kept");
    assert.equal(judgeGroup(group([1, 0], 5), 10).kind, "stale");
    assert.equal(judgeGroup(group([1, 0], 5), 10, 5).kind, "kept", "the bound is a parameter");
    // A stale group is dropped as stale even when its rewards have zero variance.
    const { counts } = filterGroups([group([0, 0], 0), group([1, 1], 0), group([1, 0], 0)], 10);
    assert.deepEqual(counts, { kept: 0, stale: 3, allZero: 0, allOne: 0, constant: 0, noScoredRollouts: 0, infraFailures: 0 });
  });

  test("infrastructure failures are left out, not scored 0", () => {
    // Scored as 0 the failure would make [1, 0] a kept group with advantages ±0.5; left out, one success remains.
    assert.equal(judgeGroup(group([1, null]), 10).kind, "all_one");
    assert.equal(judgeGroup({ modelStep: 10, members: [solved(0), { reward: null, ending: "reset_failed" }] }, 10).kind, "all_zero");
    const verdict = judgeGroup(group([1, null, 0, 0]), 10);
    assert.equal(verdict.kind, "kept");
    if (verdict.kind !== "kept") return;
    assert.deepEqual(verdict.scored, [0, 2, 3]);
    assert.deepEqual(bits(verdict.advantages), bits(centeredAdvantages([1, 0, 0])), "the mean is over the 3 scored rollouts");
  });

  test("counts: infrastructure failures of judged groups, groups with nothing scored, constant fractional rewards", () => {
    const { kept, counts } = filterGroups([group([null, null]), group([0.5, 0.5, null]), group([1, 0, null]), group([1, null], 0)], 10);
    assert.equal(kept.length, 1);
    assert.deepEqual(kept[0]!.scored, [0, 1]);
    assert.deepEqual(counts, { kept: 1, stale: 1, allZero: 0, allOne: 0, constant: 1, noScoredRollouts: 1, infraFailures: 4 });
  });

  test("rewards equal in float32 are zero variance", () => {
    assert.equal(judgeGroup(group([0.1, 0.1 + 1e-12]), 10).kind, "constant");
  });

  test("a scored rollout without a reward in [0, 1] is an error naming the member", () => {
    assert.throws(() => judgeGroup({ modelStep: 0, members: [solved(1), { reward: null, ending: "max_steps" }] }, 0), /member 1 \(ending max_steps\)/);
    assert.throws(() => judgeGroup({ modelStep: 0, members: [solved(1), { reward: NaN, ending: "no_tool_call" }] }, 0), /member 1/);
    assert.throws(() => judgeGroup({ modelStep: 0, members: [{ reward: 1.5, ending: "submitted" }] }, 0), /member 0/);
  });
});

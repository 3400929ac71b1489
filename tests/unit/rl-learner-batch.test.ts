import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { buildStepBatch } from "../../src/rl/learner-batch-builder.js";
import { encodeLearnerBatch, scoredTokenCount, writeLearnerBatch } from "../../src/rl/learner-batch.js";
import { findLearnerPython } from "../../src/rl/learner-python.js";
import { packTrajectories, rowAdvantages } from "../../src/rl/packing.js";
import { encodeSafetensors } from "../../src/util/safetensors.js";
import { syntheticRollout } from "../helpers/rl-rollouts.js";
import { tempDir } from "../helpers/task-fixture.js";

/** Loads a safetensors file with the Python `safetensors` package and prints each tensor's dtype, shape and values. */
const LOAD_WITH_SAFETENSORS = `
import json, math, sys
from safetensors import safe_open
from safetensors.numpy import load_file
tensors = load_file(sys.argv[1])
with safe_open(sys.argv[1], "np") as f:
    metadata = f.metadata()
def value(x):
    x = x.item()
    return None if isinstance(x, float) and math.isnan(x) else x
print(json.dumps({"metadata": metadata, "tensors": {k: {"dtype": str(v.dtype), "shape": list(v.shape), "values": [value(x) for x in v.reshape(-1)]} for k, v in tensors.items()}}))
`;

interface Loaded {
  metadata: Record<string, string> | null;
  tensors: Record<string, { dtype: string; shape: number[]; values: (number | null)[] }>;
}

function loadWithPython(path: string): Loaded {
  const python = findLearnerPython();
  return JSON.parse(execFileSync(python.command, ["-c", LOAD_WITH_SAFETENSORS, path], { encoding: "utf8" })) as Loaded;
}

test("encodeSafetensors writes a file the safetensors package reads back: dtypes, shapes, values, metadata", async () => {
  const path = join(tempDir(), "t.safetensors");
  const { writeFileSync } = await import("node:fs");
  // An odd-length name makes the JSON header need padding to 8 bytes.
  writeFileSync(
    path,
    encodeSafetensors(
      {
        a: { dtype: "I32", shape: [2, 3], data: Int32Array.from([1, -2, 3, 2_000_000_000, 5, 6]) },
        bee: { dtype: "F32", shape: [3], data: Float32Array.from([0.5, Number.NaN, -1.25]) },
        c: { dtype: "I64", shape: [2], data: BigInt64Array.from([7n, 9_000_000_000n]) },
        empty: { dtype: "F32", shape: [0], data: new Float32Array(0) },
      },
      { format: "tmax-test" },
    ),
  );
  const loaded = loadWithPython(path);
  assert.deepEqual(loaded.metadata, { format: "tmax-test" });
  assert.deepEqual(loaded.tensors.a, { dtype: "int32", shape: [2, 3], values: [1, -2, 3, 2_000_000_000, 5, 6] });
  assert.deepEqual(loaded.tensors.bee, { dtype: "float32", shape: [3], values: [0.5, null, -1.25] });
  assert.deepEqual(loaded.tensors.c, { dtype: "int64", shape: [2], values: [7, 9_000_000_000] });
  assert.deepEqual(loaded.tensors.empty, { dtype: "float32", shape: [0], values: [] });
});

test("encodeSafetensors refuses a shape that does not match the data and a dtype that does not match the array", () => {
  assert.throws(() => encodeSafetensors({ x: { dtype: "I32", shape: [3], data: new Int32Array(2) } }), /shape \[3\]/);
  assert.throws(() => encodeSafetensors({ x: { dtype: "I64", shape: [2], data: new Int32Array(2) } }), /not a I64 array/);
});

test("the learner batch file holds the packed rows' columns concatenated, in the PROTOCOL.md dtypes", async () => {
  const rollouts = [
    syntheticRollout("g1", 0, 1),
    syntheticRollout("g1", 1, 0, { logprobs: Float32Array.from([Number.NaN, -2, 0, -0.5, -3]) }),
    syntheticRollout("g2", 0, 0.25),
    syntheticRollout("g2", 1, 0.75),
  ];
  // Two rows: a limit of 16 tokens fits two 8-token trajectories per row.
  const rows = packTrajectories(rollouts, { rowLimit: 16, padTokenId: 9 });
  const advantages = Float32Array.from([0.5, -0.5, -0.25, 0.25]);
  const path = join(tempDir(), "batch.safetensors");
  const summary = await writeLearnerBatch(path, rows, advantages);
  // 4 trajectories × 4 sampled tokens; no row starts with a sampled token, so N leaves nothing out.
  assert.deepEqual(summary, { rows: 2, rowTokens: 32, scoredTokens: 16 });

  const { tensors } = loadWithPython(path);
  assert.deepEqual(Object.keys(tensors).sort(), [
    "advantages",
    "behaviour_logprobs",
    "document_ids",
    "position_ids",
    "response_mask",
    "row_lengths",
    "token_ids",
  ]);
  const column = (pick: (r: (typeof rows)[number]) => ArrayLike<number>): (number | null)[] =>
    rows.flatMap((r) => Array.from(pick(r), (x) => (Number.isNaN(x) ? null : x)));
  for (const [name, pick] of [
    ["token_ids", (r: (typeof rows)[number]) => r.tokenIds],
    ["position_ids", (r: (typeof rows)[number]) => r.positionIds],
    ["document_ids", (r: (typeof rows)[number]) => r.documentIds],
    ["response_mask", (r: (typeof rows)[number]) => r.responseMask],
  ] as const) {
    assert.deepEqual(tensors[name], { dtype: "int32", shape: [32], values: column(pick) }, name);
  }
  assert.deepEqual(tensors.behaviour_logprobs, { dtype: "float32", shape: [32], values: column((r) => r.logprobs) });
  assert.deepEqual(tensors.advantages, { dtype: "float32", shape: [32], values: column((r) => rowAdvantages(r, advantages)) });
  assert.deepEqual(tensors.row_lengths, { dtype: "int64", shape: [2], values: [16, 16] });
  assert.equal(tensors.behaviour_logprobs.values[3], -1.5);
  assert.equal(tensors.behaviour_logprobs.values[11], null, "a missing μ stays NaN");
  assert.equal(tensors.advantages.values[11 + 1], -0.5);
});

test("N leaves out a row's first token when the model sampled it", () => {
  const rows = packTrajectories([{ promptIds: [], responseIds: [5, 6, 7], lossMask: [1, 0, 1], logprobs: [-1, 0, -1], policyVersion: 0 }], {
    rowLimit: 10,
    padTokenId: 0,
  });
  assert.equal(scoredTokenCount(rows), 1);
});

test("a batch with no rows, or a row shorter than 2 tokens, is refused", () => {
  assert.throws(() => encodeLearnerBatch([], []), /at least one row/);
  const rows = packTrajectories([{ promptIds: [1], responseIds: [], lossMask: [], logprobs: [], policyVersion: 0 }], { rowLimit: 4, padTokenId: 0 });
  assert.throws(() => encodeLearnerBatch(rows, [0]), /at least 2/);
});

test("buildStepBatch keeps groups with reward variance and gives each scored rollout its group's centered advantage", () => {
  const batch = buildStepBatch(
    [
      syntheticRollout("mixed", 0, 1, { policyVersion: 2 }),
      syntheticRollout("all-zero", 0, 0, { policyVersion: 2 }),
      syntheticRollout("mixed", 1, 0, { policyVersion: 2 }),
      syntheticRollout("all-zero", 1, 0, { policyVersion: 2 }),
      syntheticRollout("mixed", 2, 0, { ending: "infra_error", reward: null, policyVersion: 2 }),
      // 6 − 1 = 5 steps behind: over the bound of 4.
      syntheticRollout("stale", 0, 1, { policyVersion: 1 }),
      syntheticRollout("stale", 1, 0, { policyVersion: 1 }),
    ],
    { currentStep: 6, padTokenId: 0 },
  );
  assert.equal(batch.counts.kept, 1);
  assert.equal(batch.counts.allZero, 1);
  assert.equal(batch.counts.stale, 1);
  assert.equal(batch.counts.infraFailures, 1);
  assert.deepEqual(
    batch.trajectories.map((t) => `${t.groupId}/${t.sampleIndex}`),
    ["mixed/0", "mixed/1"],
  );
  assert.deepEqual(Array.from(batch.advantages), [0.5, -0.5]);
  assert.equal(batch.rows.length, 1);
  assert.deepEqual([...new Set(batch.rows[0]!.responseMask)].sort(), [0, 1, 2]);
});

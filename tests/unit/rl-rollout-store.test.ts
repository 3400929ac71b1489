import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { type Rollout } from "../../src/rl/rollout.js";
import { readRollouts, ROLLOUT_INDEX_FILE, writeRollouts } from "../../src/rl/rollout-store.js";
import { FileFormatError } from "../../src/util/json-file.js";
import { tempDir } from "../helpers/task-fixture.js";

const EOS = 248046;

function rollout(over: Partial<Rollout> = {}): Rollout {
  return {
    taskName: "fix-the-build",
    groupId: "g-0001",
    sampleIndex: 0,
    seed: 42,
    policyVersion: 7,
    promptIds: Int32Array.from([1, 2, 3, 2_000_000_000]),
    responseIds: Int32Array.from([10, 11, EOS, 20, 21, 12, EOS]),
    lossMask: Uint8Array.from([1, 1, 1, 0, 0, 1, 1]),
    logprobs: Float32Array.from([-0.1, -2.5, -1e-6, 0, 0, -0.123456789, -30]),
    turns: [
      { start: 0, end: 3, finishReason: "stop" },
      { start: 5, end: 7, finishReason: "length" },
    ],
    promptText: "<|im_start|>system\nYou are…<|im_end|>",
    responseText: "ls -la\n<|im_end|>",
    reward: 1,
    ending: "submitted",
    error: null,
    timings: { startedAt: "2025-01-02T03:04:05.678Z", finishedAt: "2025-01-02T03:09:05.000Z", modelSec: 12.5, envSec: 0.25 },
    ...over,
  };
}

const BATCH: Rollout[] = [
  rollout(),
  rollout({
    sampleIndex: 1,
    seed: 43,
    promptIds: Int32Array.from([]),
    responseText: "naïve 日本語 🚀 \"quoted\" \\ back\u0000nul \ud800 lone surrogate\n",
    promptText: "Ünïcödé prompt ✓",
    reward: 0,
    ending: "no_tool_call",
  }),
  // An infrastructure failure: no reward, the synthetic one-token response with a NaN logprob.
  rollout({
    sampleIndex: 2,
    seed: 44,
    responseIds: Int32Array.from([EOS]),
    lossMask: Uint8Array.from([1]),
    logprobs: Float32Array.from([NaN]),
    turns: [],
    responseText: "",
    reward: null,
    ending: "reset_failed",
    error: "image tb/fix-the-build:latest not found after 5 attempts",
  }),
];

async function writtenBatch(rollouts: Rollout[] = BATCH): Promise<string> {
  const dir = join(tempDir("tmax-rl-"), "step_000001");
  await writeRollouts(dir, rollouts);
  return dir;
}

const indexPath = (dir: string): string => join(dir, ROLLOUT_INDEX_FILE);
const tokensPath = (dir: string): string => join(dir, "rollouts.bin");
const readIndex = (dir: string) => JSON.parse(readFileSync(indexPath(dir), "utf8"));
type IndexJson = ReturnType<typeof readIndex>;
const writeIndex = (dir: string, index: unknown): void => writeFileSync(indexPath(dir), JSON.stringify(index));

/** Rewrites the token file and makes the index agree with it again (size, checksum), as a buggy writer would. */
function replaceTokens(dir: string, edit: (bytes: Buffer) => Buffer): void {
  const bytes = edit(readFileSync(tokensPath(dir)));
  writeFileSync(tokensPath(dir), bytes);
  const index = readIndex(dir);
  index.tokens_file_bytes = bytes.byteLength;
  index.tokens_file_sha256 = createHash("sha256").update(bytes).digest("hex");
  writeIndex(dir, index);
}

async function assertFormatError(dir: string, file: string, message: RegExp): Promise<void> {
  await assert.rejects(readRollouts(dir), (err: unknown) => {
    assert.ok(err instanceof FileFormatError, `a FileFormatError, got ${String(err)}`);
    assert.equal(err.file, file);
    assert.match(err.message, message);
    return true;
  });
}

describe("rollout files", () => {
  test("round trip: token arrays, float32 logprobs with NaN, unicode text, every field", async () => {
    const dir = await writtenBatch();
    assert.deepEqual(readdirSync(dir).sort(), ["rollouts.bin", "rollouts.json"], "no temp files left");
    const back = await readRollouts(dir);
    assert.deepEqual(back, BATCH);
    assert.ok(Number.isNaN(back[2]!.logprobs[0]));
    assert.ok(back[0]!.logprobs instanceof Float32Array && back[0]!.promptIds instanceof Int32Array && back[0]!.lossMask instanceof Uint8Array);
    assert.equal(back[0]!.logprobs[5], Math.fround(-0.123456789));
    assert.equal(back[1]!.responseText, BATCH[1]!.responseText);
  });

  test("an empty batch round-trips", async () => {
    assert.deepEqual(await readRollouts(await writtenBatch([])), []);
  });

  test("the documented layout: magic, 8-aligned little-endian columns, spans in the index, no token arrays in JSON", async () => {
    const dir = await writtenBatch();
    const index = readIndex(dir);
    const data = readFileSync(tokensPath(dir));
    assert.equal(data.subarray(0, 8).toString("latin1"), "TMAXRLv1");
    assert.equal(index.format, "tmax-rollouts");
    assert.equal(index.version, 1);
    assert.equal(index.tokens_file, "rollouts.bin");
    assert.equal(index.tokens_file_bytes, data.byteLength);
    assert.deepEqual(
      Object.fromEntries(Object.entries<{ dtype: string }>(index.columns).map(([k, c]) => [k, c.dtype])),
      { prompt_ids: "<i4", response_ids: "<i4", behaviour_logprobs: "<f4", loss_mask: "|u1" },
    );
    for (const c of Object.values<{ offset: number }>(index.columns)) assert.equal(c.offset % 8, 0);
    assert.equal(index.columns.prompt_ids.count, 8);
    assert.equal(index.columns.response_ids.count, 15);

    const second = index.rollouts[1];
    assert.deepEqual(second.prompt, { start: 4, count: 0 });
    assert.deepEqual(second.response, { start: 7, count: 7 });
    assert.deepEqual(index.rollouts[0].turns[1], { start: 5, end: 7, finish_reason: "length" });
    assert.equal(index.rollouts[2].reward, null);
    // Value k of a column is at offset + k × itemsize, little-endian.
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    assert.equal(view.getInt32(index.columns.prompt_ids.offset + 3 * 4, true), 2_000_000_000);
    assert.equal(view.getInt32(index.columns.response_ids.offset + 14 * 4, true), EOS);
    assert.equal(view.getFloat32(index.columns.behaviour_logprobs.offset + 1 * 4, true), -2.5);
    assert.ok(Number.isNaN(view.getFloat32(index.columns.behaviour_logprobs.offset + 14 * 4, true)));
    assert.equal(data[index.columns.loss_mask.offset + 3], 0);
    assert.ok(!readFileSync(indexPath(dir), "utf8").includes("2000000000"), "token ids are not in the JSON");
  });

  test("rewriting a directory replaces its batch", async () => {
    const dir = await writtenBatch();
    await writeRollouts(dir, [BATCH[1]!]);
    assert.deepEqual(await readRollouts(dir), [BATCH[1]]);
    assert.deepEqual(readdirSync(dir).sort(), ["rollouts.bin", "rollouts.json"]);
  });

  test("invalid rollouts are refused before anything is written", async () => {
    const dir = join(tempDir("tmax-rl-"), "out");
    await assert.rejects(writeRollouts(dir, [BATCH[0]!, rollout({ sampleIndex: 5, lossMask: Uint8Array.from([1]) })]), /rollout 1 \(task fix-the-build, group g-0001, sample 5\): 7 response ids but 1 mask values/);
    await assert.rejects(writeRollouts(dir, [rollout({ lossMask: Uint8Array.from([1, 1, 1, 0, 0, 2, 1]) })]), /loss mask value 2 at response position 5/);
    await assert.rejects(writeRollouts(dir, [rollout({ responseIds: Int32Array.from([1, 2, -3, 4, 5, 6, 7]) })]), /negative token id in the response/);
    await assert.rejects(writeRollouts(dir, [rollout({ ending: "max_steps", reward: 1 })]), /rollouts\.json not written: rollouts\.0\.reward: must be 0 for ending "max_steps"/);
    await assert.rejects(writeRollouts(dir, [rollout({ ending: "infra_error", reward: 0 })]), /rollouts\.0\.reward: must be null/);
    assert.equal(existsSync(dir), false);
  });

  describe("corrupt files give errors naming the file and the field", () => {
    test("token file truncated", async () => {
      const dir = await writtenBatch();
      writeFileSync(tokensPath(dir), readFileSync(tokensPath(dir)).subarray(0, 20));
      await assertFormatError(dir, tokensPath(dir), /20 bytes, but rollouts\.json says tokens_file_bytes = \d+/);
    });

    test("token file changed in place", async () => {
      const dir = await writtenBatch();
      const bytes = readFileSync(tokensPath(dir));
      bytes[bytes.byteLength - 1]! ^= 1;
      writeFileSync(tokensPath(dir), bytes);
      await assertFormatError(dir, tokensPath(dir), /does not match tokens_file_sha256/);
    });

    test("token file missing", async () => {
      const dir = await writtenBatch();
      rmSync(tokensPath(dir));
      await assertFormatError(dir, tokensPath(dir), /missing/);
    });

    test("token file without the header", async () => {
      const dir = await writtenBatch();
      replaceTokens(dir, (b) => Buffer.concat([Buffer.from("NOTTMAX!"), b.subarray(8)]));
      await assertFormatError(dir, tokensPath(dir), /not a tmax rollout token file/);
    });

    test("index not JSON", async () => {
      const dir = await writtenBatch();
      writeFileSync(indexPath(dir), readFileSync(indexPath(dir), "utf8").slice(0, 100));
      await assertFormatError(dir, indexPath(dir), /not valid JSON/);
    });

    test("index fields: an unknown ending, a wrong dtype, a reward that contradicts the ending, a turn out of range", async () => {
      const dir = await writtenBatch();
      const good = readIndex(dir);
      const cases: [(index: IndexJson) => void, RegExp][] = [
        [(i) => (i.rollouts[1].ending = "exploded"), /rollouts\.json: rollouts\.1\.ending: /],
        [(i) => (i.columns.behaviour_logprobs.dtype = "<f8"), /rollouts\.json: columns\.behaviour_logprobs\.dtype: /],
        [(i) => (i.rollouts[1].reward = 1), /rollouts\.json: rollouts\.1\.reward: must be 0 for ending "no_tool_call"/],
        [(i) => (i.rollouts[2].reward = 0), /rollouts\.json: rollouts\.2\.reward: must be null for ending "reset_failed"/],
        [(i) => (i.rollouts[0].turns[1].start = 2), /rollouts\.json: rollouts\.0\.turns\.1: \[2, 7\) is not a span .* after the previous turn's end 3/],
        [(i) => (i.rollouts[0].turns[1].end = 8), /rollouts\.0\.turns\.1: \[5, 8\) is not a span of the 7 response tokens/],
        [(i) => delete i.rollouts[0].timings.model_sec, /rollouts\.0\.timings\.model_sec: /],
        [(i) => (i.rollouts[0].timings.started_at = "yesterday"), /rollouts\.0\.timings\.started_at: /],
        [(i) => (i.tokens_file = "../elsewhere.bin"), /tokens_file: must be a file name in the same directory/],
        [(i) => (i.version = 2), /rollouts\.json: version: /],
      ];
      for (const [edit, message] of cases) {
        const index = structuredClone(good);
        edit(index);
        writeIndex(dir, index);
        await assertFormatError(dir, indexPath(dir), message);
      }
    });

    test("index spans and columns beyond the token file", async () => {
      const dir = await writtenBatch();
      const good = readIndex(dir);
      const cases: [(index: IndexJson) => void, RegExp][] = [
        [(i) => (i.rollouts[2].response.count = 2), /rollouts\.2\.response: values \[14, 16\) lie beyond the 15 values of column response_ids/],
        [(i) => (i.rollouts[0].prompt.start = 6), /rollouts\.0\.prompt: values \[6, 10\) lie beyond the 8 values of column prompt_ids/],
        [(i) => (i.columns.loss_mask.count = 14), /columns\.loss_mask\.count: 14, but response_ids has 15 values/],
        [(i) => (i.columns.loss_mask.count = 1000), /columns\.loss_mask: bytes \[\d+, \d+\) are not within the data of .*rollouts\.bin/],
        [(i) => (i.columns.prompt_ids.offset = 0), /columns\.prompt_ids: bytes \[0, 32\) are not within the data/],
      ];
      for (const [edit, message] of cases) {
        const index = structuredClone(good);
        edit(index);
        writeIndex(dir, index);
        await assertFormatError(dir, indexPath(dir), message);
      }
    });

    test("token values: a mask value other than 0/1 and a negative id name the rollout and position", async () => {
      const dir = await writtenBatch();
      const { columns } = readIndex(dir);
      replaceTokens(dir, (b) => {
        b[columns.loss_mask.offset + 7 + 3] = 2; // rollout 1, response position 3
        return b;
      });
      await assertFormatError(dir, tokensPath(dir), /rollouts\.bin: rollouts\.1\.loss_mask\.3: 2 is not 0 or 1/);

      const dir2 = await writtenBatch();
      replaceTokens(dir2, (b) => {
        b.writeInt32LE(-5, columns.prompt_ids.offset + 2 * 4); // rollout 0, prompt position 2
        return b;
      });
      await assertFormatError(dir2, tokensPath(dir2), /rollouts\.0\.prompt_ids\.2: token id -5 is negative/);
    });
  });
});

import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parseRewardJson, parseRewardTxt, readRewards } from "../../src/verifier/reward.js";
import { HeadTailBuffer } from "../../src/environment/output-buffer.js";
import { type TrialError } from "../../src/harbor/exceptions.js";

const typeOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    return (err as TrialError).exceptionType;
  }
  return "none";
};

describe("reward contract", () => {
  test("reward.txt is read with float() rules", () => {
    assert.deepEqual(parseRewardTxt("1\n"), { reward: 1 });
    assert.deepEqual(parseRewardTxt(" 0.25 "), { reward: 0.25 });
    assert.equal(typeOf(() => parseRewardTxt("  \n")), "RewardFileEmptyError");
    assert.equal(typeOf(() => parseRewardTxt("1 passed")), "VerifierOutputParseError");
  });
  test("reward.json must be a flat object of numbers", () => {
    assert.deepEqual(parseRewardJson('{"reward": 1, "accuracy": 0.5}'), { reward: 1, accuracy: 0.5 });
    assert.equal(typeOf(() => parseRewardJson("")), "RewardFileEmptyError");
    assert.equal(typeOf(() => parseRewardJson("{")), "VerifierOutputParseError");
    assert.equal(typeOf(() => parseRewardJson("[1]")), "VerifierOutputParseError");
    assert.equal(typeOf(() => parseRewardJson('{"a": {"b": 1}}')), "VerifierOutputParseError");
    assert.equal(typeOf(() => parseRewardJson('{"a": "1"}')), "VerifierOutputParseError");
  });
  test("reward.json wins over reward.txt; neither is RewardFileNotFoundError", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tmax-reward-"));
    const json = join(dir, "reward.json");
    const txt = join(dir, "reward.txt");
    await assert.rejects(readRewards(json, txt), (e: TrialError) => e.exceptionType === "RewardFileNotFoundError");
    writeFileSync(txt, "0\n");
    assert.deepEqual(await readRewards(json, txt), { reward: 0 });
    writeFileSync(json, '{"reward": 1, "x": 2}');
    assert.deepEqual(await readRewards(json, txt), { reward: 1, x: 2 });
  });
});

describe("bounded output capture", () => {
  test("keeps everything under the limit", () => {
    const b = new HeadTailBuffer(10);
    b.push(Buffer.from("abc"));
    b.push(Buffer.from("def"));
    assert.equal(b.toString(), "abcdef");
    assert.equal(b.dropped, 0);
  });
  test("keeps head and tail halves and counts what was dropped", () => {
    const b = new HeadTailBuffer(10);
    for (const chunk of ["0123", "4567", "89ab", "cdef", "ghij"]) b.push(Buffer.from(chunk));
    assert.equal(b.total, 20);
    assert.equal(b.dropped, 10);
    assert.equal(b.toString(), "01234" + "fghij");
  });
  test("memory stays bounded for a large stream", () => {
    const b = new HeadTailBuffer(1000);
    const chunk = Buffer.alloc(64 * 1024, 120);
    for (let i = 0; i < 2000; i++) b.push(chunk);
    assert.equal(b.toString().length, 1000);
    assert.equal(b.dropped, 2000 * 64 * 1024 - 1000);
  });
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { parseTrainMetrics } from "../../src/store/train-run.js";

test("metrics.jsonl: complete lines in order; a last line without its newline is cut short and left out", () => {
  const whole = '{"step": 1}\n\n{"step": 2}\n';
  assert.deepEqual(parseTrainMetrics(whole, "m.jsonl"), { rows: [{ step: 1 }, { step: 2 }], torn: false });
  assert.deepEqual(parseTrainMetrics(whole + '{"step": 3, "rew', "m.jsonl"), { rows: [{ step: 1 }, { step: 2 }], torn: true });
  // Cut just before its newline: the row is whole (no proper prefix of an object parses), but the file is torn.
  assert.deepEqual(parseTrainMetrics(whole + '{"step": 3}', "m.jsonl"), { rows: [{ step: 1 }, { step: 2 }, { step: 3 }], torn: true });
  assert.deepEqual(parseTrainMetrics("", "m.jsonl"), { rows: [], torn: false });
});

test("metrics.jsonl: a malformed complete line names the file and the line", () => {
  assert.throws(() => parseTrainMetrics('{"step": 1}\n{"step": 2,\n{"step": 3}\n', "run/metrics.jsonl"), /run\/metrics\.jsonl:2: not valid JSON/);
});

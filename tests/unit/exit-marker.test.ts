import assert from "node:assert/strict";
import { test } from "node:test";
import { ExitMarkerScanner } from "../../src/environment/exit-marker.js";

const MARK = "\x1eTMAX-EXIT-0123456789abcdef:";

function feed(scanner: ExitMarkerScanner, text: string, cuts: number[]): string {
  const bytes = Buffer.from(text, "latin1");
  const out: Buffer[] = [];
  let last = 0;
  for (const c of [...cuts, bytes.length]) {
    out.push(scanner.push(bytes.subarray(last, c)));
    last = c;
  }
  if (!scanner.done) out.push(scanner.flush());
  return Buffer.concat(out).toString("latin1");
}

test("finds the marker and status across every possible chunk boundary", () => {
  const text = `hello\x1eworld\nno newline at end${MARK}42\nlate output from a background job`;
  for (let a = 0; a <= text.length; a++) {
    for (const b of [a, Math.min(text.length, a + 1), Math.min(text.length, a + 7)]) {
      const s = new ExitMarkerScanner(MARK, true);
      const out = feed(s, text, [a, b]);
      assert.equal(out, "hello\x1eworld\nno newline at end", `cuts ${a},${b}`);
      assert.equal(s.status, 42);
      assert.equal(s.done, true);
    }
  }
});

test("stderr marker without status; output with a partial marker prefix is passed through at the end", () => {
  const s = new ExitMarkerScanner(MARK, false);
  assert.equal(feed(s, `err\n${MARK}\n`, [5]), "err\n");
  assert.equal(s.done, true);
  const t = new ExitMarkerScanner(MARK, true);
  assert.equal(feed(t, `data\x1eTMAX-EX`, [7]), "data\x1eTMAX-EX");
  assert.equal(t.done, false);
  assert.equal(t.status, null);
});

test("a different token does not match", () => {
  const s = new ExitMarkerScanner(MARK, true);
  const other = "\x1eTMAX-EXIT-ffffffffffffffff:7\n";
  assert.equal(feed(s, `x${other}y`, []), `x${other}y`);
  assert.equal(s.done, false);
});

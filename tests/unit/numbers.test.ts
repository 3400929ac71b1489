import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { formatPythonFloat, parsePythonFloat } from "../../src/util/python-float.js";
import { harborKValues, passAtK, passAtKForTask } from "../../src/stats/pass-at-k.js";

describe("Python float semantics", () => {
  test("parse accepts what Python's float() accepts", () => {
    assert.equal(parsePythonFloat("1"), 1);
    assert.equal(parsePythonFloat(" 0.5\n"), 0.5);
    assert.equal(parsePythonFloat("1e3"), 1000);
    assert.equal(parsePythonFloat("-.25"), -0.25);
    assert.equal(parsePythonFloat("5."), 5);
    assert.equal(parsePythonFloat("1_000.5"), 1000.5);
    assert.equal(parsePythonFloat("+2E-2"), 0.02);
    assert.equal(parsePythonFloat("inf"), Infinity);
    assert.equal(parsePythonFloat("-Infinity"), -Infinity);
    assert.ok(Number.isNaN(parsePythonFloat("NaN")));
  });
  test("parse rejects what JS parseFloat would half-accept", () => {
    for (const bad of ["1abc", "0x10", "1,5", "", "1 2", "1__0", "_1", "1_", "reward: 1", "true"]) {
      assert.throws(() => parsePythonFloat(bad), /could not convert/, JSON.stringify(bad));
    }
  });
  test("repr formatting (reward_stats keys)", () => {
    const cases: [number, string][] = [
      [1, "1.0"], [0, "0.0"], [0.5, "0.5"], [-2, "-2.0"], [0.1, "0.1"], [123.456, "123.456"],
      [1e-5, "1e-05"], [0.0001, "0.0001"], [1e16, "1e+16"], [1e15, "1000000000000000.0"],
      [1.5e-7, "1.5e-07"], [2.5e20, "2.5e+20"], [1 / 3, "0.3333333333333333"],
    ];
    for (const [x, s] of cases) assert.equal(formatPythonFloat(x), s, String(x));
    assert.equal(formatPythonFloat(NaN), "nan");
    assert.equal(formatPythonFloat(-Infinity), "-inf");
  });
});

describe("pass@k", () => {
  test("unbiased estimator: 1 − C(n−c,k)/C(n,k)", () => {
    assert.equal(passAtKForTask(5, 0, 2), 0);
    assert.equal(passAtKForTask(5, 5, 2), 1);
    assert.ok(Math.abs(passAtKForTask(5, 1, 2) - 0.4) < 1e-12); // 1 − 6/10
    assert.ok(Math.abs(passAtKForTask(5, 2, 2) - 0.7) < 1e-12); // 1 − 3/10
    assert.ok(Math.abs(passAtKForTask(8, 3, 4) - (1 - 5 / 70)) < 1e-12); // C(5,4)=5, C(8,4)=70
    assert.equal(passAtKForTask(5, 4, 2), 1, "n − c < k means every k-subset has a success");
    assert.ok(Math.abs(passAtKForTask(10, 1, 1) - 0.1) < 1e-12, "pass@1 is the success rate");
    assert.throws(() => passAtKForTask(3, 1, 4), RangeError);
  });
  test("Harbor's k values", () => {
    assert.deepEqual(harborKValues(1), []);
    assert.deepEqual(harborKValues(2), [2]);
    assert.deepEqual(harborKValues(5), [2, 4, 5]);
    assert.deepEqual(harborKValues(16), [2, 4, 5, 8, 10, 15, 16]);
    assert.deepEqual(harborKValues(32), [2, 4, 5, 8, 10, 15, 16, 20, 25, 30, 32]);
  });
  test("averaged over tasks, keyed by k as a string", () => {
    const r = passAtK([{ n: 5, c: 1 }, { n: 5, c: 0 }, { n: 5, c: 5 }]);
    assert.deepEqual(Object.keys(r), ["2", "4", "5"]);
    assert.ok(Math.abs(r["2"]! - (0.4 + 0 + 1) / 3) < 1e-12);
    assert.ok(Math.abs(r["5"]! - (1 + 0 + 1) / 3) < 1e-12);
  });
});

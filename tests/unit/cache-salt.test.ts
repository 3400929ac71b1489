import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { cacheSalt } from "../../src/model/cache-salt.js";

describe("prefix-cache salt of a group and policy version", () => {
  test("the same group at the same version gets the same salt: its samples share the cached prompt", () => {
    assert.equal(cacheSalt("task-7#3", 12), cacheSalt("task-7#3", 12));
  });

  test("a new policy version never reuses the old version's salt", () => {
    const salts = new Set([0, 1, 2, 3, 10, 11, 100].map((v) => cacheSalt("task-7#3", v)));
    assert.equal(salts.size, 7);
  });

  test("groups never share a salt, whatever their ids look like", () => {
    // Naive concatenation would give "g112" for both; so would "g1:12" for ("g1:1", 2) and ("g1", 12) with ":".
    assert.notEqual(cacheSalt("g1", 12), cacheSalt("g11", 2));
    assert.notEqual(cacheSalt("g1:1", 2), cacheSalt("g1", 12));
    assert.notEqual(cacheSalt("a", 1), cacheSalt("b", 1));
  });

  test("fits vLLM's cache_salt field: a non-empty string of at most 1024 characters, URL-safe", () => {
    const salt = cacheSalt("x".repeat(5000), 499);
    assert.match(salt, /^[A-Za-z0-9_-]{43}$/);
  });

  test("an empty group or a version that is not an integer ≥ 0 is refused", () => {
    assert.throws(() => cacheSalt("", 1), RangeError);
    assert.throws(() => cacheSalt("g", -1), RangeError);
    assert.throws(() => cacheSalt("g", 1.5), RangeError);
    assert.throws(() => cacheSalt("g", Number.NaN), RangeError);
  });
});

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { trialSummarySchema } from "../../src/harbor/lenient.js";
import { fastTrialRecord, trialRecordFromSummary } from "../../src/stats/records.js";

/** What the listing gives for a document by the schema (the definition). */
const bySchema = (d: unknown, name = "dir__fallbck"): ReturnType<typeof trialRecordFromSummary> | null => {
  const parsed = trialSummarySchema.safeParse(d);
  return parsed.success ? trialRecordFromSummary(parsed.data, name) : null;
};

/** A Harbor 0.6.x trial result.json, reduced to the parts the summary reads plus some it must ignore. */
const harbor = {
  id: "x",
  task_name: "fix-git",
  trial_name: "fix-git__4Sn43cZ",
  source: "terminal-bench",
  agent_info: { name: "vanillux2-agent", version: "0.1.0", model_info: { name: "swerl-step200", provider: "openai" } },
  agent_result: { n_input_tokens: 100, n_cache_tokens: null, n_output_tokens: 5, cost_usd: null, rollout_details: null, some_new_field: 1 },
  verifier_result: { rewards: { reward: 1.0, other: null } },
  exception_info: { exception_type: "AgentTimeoutError", exception_message: "m" },
  started_at: "2025-11-20T10:00:00.123456Z",
  finished_at: "2025-11-20T10:10:00.000000Z",
  config: { agent: { name: "vanillux2-agent", model_name: "openai/swerl-step200" }, environment: { mounts_json: null } },
};

/** Values a field may be replaced with (JSON has no undefined: "drop" deletes the key). */
const REPLACEMENTS: unknown[] = ["drop", null, "text", "", 0, 3.5, -1, 1e308 * 10, true, [], [1], {}, { reward: 1 }, { nested: { a: 1 } }];

function paths(value: unknown, prefix: string[] = []): string[][] {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return [prefix];
  const out: string[][] = prefix.length ? [prefix] : [];
  for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, k]));
  return out;
}

function mutate(doc: unknown, path: string[], replacement: unknown): unknown {
  const copy = structuredClone(doc) as Record<string, unknown>;
  let node = copy;
  for (const k of path.slice(0, -1)) node = node[k] as Record<string, unknown>;
  const last = path[path.length - 1]!;
  if (replacement === "drop") delete node[last];
  else node[last] = replacement;
  return copy;
}

/** A multi-step trial (Harbor's layout): no trial-level agent_result; the steps carry exceptions and tokens. */
const multiStep = {
  trial_name: "steps__abc1234",
  task_name: "steps",
  agent_info: { name: "oracle", version: "1.0.0", model_info: null },
  agent_result: null,
  verifier_result: { rewards: { reward: 0.5 } },
  exception_info: null,
  finished_at: "2025-11-20T10:10:00.000000Z",
  step_results: [
    { step_name: "one", agent_result: { n_input_tokens: 10, n_cache_tokens: null, n_output_tokens: 2, cost_usd: 0.5 }, exception_info: null },
    { step_name: "two", agent_result: { n_input_tokens: 5, n_cache_tokens: null, n_output_tokens: 1, cost_usd: null }, exception_info: { exception_type: "AgentTimeoutError" } },
    { step_name: "three", agent_result: null, exception_info: { exception_type: "RewardFileNotFoundError" } },
  ],
};

/** A Harbor ≥ 0.26 trial result.json: it records its error policy and whether the reward counts. */
const harbor026 = {
  ...harbor,
  exception_info: { exception_type: "ApiError", exception_message: "m", policy_override: null, policy: { should_retry: true, should_grade: true, has_valid_reward: false } },
  reward_valid: false,
};

describe("Harbor ≥ 0.26's reward_valid: a reward, and no exception whose error policy voids it", () => {
  const valid = (d: unknown): [boolean | undefined, boolean | undefined] => [fastTrialRecord(d, "x")?.rewardValid, bySchema(d)?.rewardValid];
  const withException = (type: string | null, extra: object = {}): unknown => ({ ...harbor, exception_info: type === null ? null : { exception_type: type, ...extra } });
  test("by Harbor's table when result.json does not say (Harbor 0.6.x, tmax)", () => {
    assert.deepEqual(valid(withException(null)), [true, true]);
    assert.deepEqual(valid(withException("AgentTimeoutError")), [true, true], "a timed-out agent's reward counts");
    assert.deepEqual(valid(withException("SomethingNewError")), [true, true], "an unknown type keeps the reward, as in Harbor");
    for (const type of ["ApiError", "VerifierTimeoutError", "RewardFileNotFoundError", "CancelledError", "EnvironmentStartTimeoutError"]) {
      assert.deepEqual(valid(withException(type)), [false, false], type);
    }
    assert.deepEqual(valid({ ...harbor, exception_info: null, verifier_result: null }), [false, false], "no reward");
    assert.deepEqual(valid({ ...harbor, exception_info: null, verifier_result: { rewards: {} } }), [false, false], "an empty reward");
    assert.deepEqual(valid(multiStep), [false, false], "a step's RewardFileNotFoundError voids the trial's reward");
    assert.deepEqual(valid({ ...multiStep, step_results: multiStep.step_results.slice(0, 2) }), [true, true]);
  });
  test("what result.json records wins: reward_valid, then the exception's policy, then its policy_override", () => {
    assert.deepEqual(valid(harbor026), [false, false]);
    assert.deepEqual(valid({ ...harbor026, reward_valid: true }), [true, true]);
    const { reward_valid: _, ...unsaid } = harbor026;
    assert.deepEqual(valid(unsaid), [false, false], "policy.has_valid_reward false");
    assert.deepEqual(valid(withException("ApiError", { policy: { has_valid_reward: true } })), [true, true]);
    assert.deepEqual(valid(withException("ApiError", { policy_override: { has_valid_reward: true } })), [true, true]);
    assert.deepEqual(valid(withException("AgentTimeoutError", { policy: null, policy_override: { has_valid_reward: false } })), [false, false]);
    assert.deepEqual(valid({ ...harbor026, reward_valid: "yes" }), [false, false], "a value of another type is ignored");
  });
});

describe("multi-step trials: the steps' exceptions and tokens count for the trial, as in Harbor", () => {
  test("the first step exception is the trial's; tokens and cost are summed over the steps", () => {
    for (const r of [fastTrialRecord(multiStep, "x"), bySchema(multiStep)]) {
      assert.equal(r?.exceptionType, "AgentTimeoutError");
      assert.deepEqual([r?.nInputTokens, r?.nCacheTokens, r?.nOutputTokens, r?.costUsd], [15, null, 3, 0.5]);
      assert.deepEqual(r?.rewards, { reward: 0.5 });
    }
    const ok = { ...multiStep, step_results: [multiStep.step_results[0]] };
    assert.equal(fastTrialRecord(ok, "x")?.exceptionType, null);
  });
});

describe("the fast path of the trial listing agrees with the zod schema of the trial summary", () => {
  test("well-formed documents (Harbor's, sparse ones, nulls) take the fast path, with the schema's exact record", () => {
    const docs: unknown[] = [harbor, {}, { trial_name: "t__abc", finished_at: "2025-01-01T00:00:00", exception_info: { exception_type: "CancelledError" } }, { verifier_result: null, agent_info: null, agent_result: null, config: null, exception_info: null, source: null }];
    for (const d of docs) {
      const fast = fastTrialRecord(d, "dir__fallbck");
      assert.ok(fast, JSON.stringify(d));
      assert.deepEqual(fast, bySchema(d));
    }
    assert.deepEqual(fastTrialRecord(harbor, "x")?.rewards, { reward: 1 }, "null rewards are dropped");
    assert.deepEqual(Object.keys(trialSummarySchema.parse(harbor).agent_result!), ["n_input_tokens", "n_cache_tokens", "n_output_tokens", "cost_usd"], "the schema drops unknown keys");
  });

  test(`every field replaced by every kind of value (${REPLACEMENTS.length} kinds): whenever the fast path answers, it answers as the schema`, () => {
    let fast = 0;
    let slow = 0;
    for (const [base, path] of [...paths(harbor).map((p) => [harbor, p] as const), ...paths(harbor026).map((p) => [harbor026, p] as const)]) {
      for (const r of REPLACEMENTS) {
        const doc = mutate(base, path, r);
        const f = fastTrialRecord(doc, "dir__fallbck");
        if (f === null) {
          slow++;
          continue;
        }
        fast++;
        const z = bySchema(doc);
        assert.ok(z, `fast path accepted what the schema refuses: ${path.join(".")} = ${JSON.stringify(r)}`);
        assert.deepEqual(f, z, `${path.join(".")} = ${JSON.stringify(r)}`);
      }
    }
    assert.ok(fast > 100 && slow > 50, `both paths exercised (fast ${fast}, slow ${slow})`);
  });

  test("not an object, or a non-string trial or task name: unreadable (the schema refuses, the fast path declines)", () => {
    for (const d of [null, 3, "x", [], { trial_name: 5 }, { task_name: {} }]) {
      assert.equal(fastTrialRecord(d, "x"), null);
      assert.equal(trialSummarySchema.safeParse(d).success, false);
    }
  });
});

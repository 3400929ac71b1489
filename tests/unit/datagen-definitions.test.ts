import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { analyzeCorpus } from "../../src/datagen/analyze.js";
import { taskDirName } from "../../src/datagen/compose.js";
import { appendManifest, updateTaskMetadata } from "../../src/datagen/corpus-write.js";
import { LLM_STAGES, PIPELINE_STAGES, VALIDATION_STAGES, validationStagesBefore } from "../../src/datagen/stages.js";
import {
  isBenchmarkWorthy,
  isRewardedAttempt,
  TIER_DEFINITIONS,
  tierFor,
  tierRank,
  tierRule,
  tierTarget,
  TIERS,
  type Tier,
} from "../../src/datagen/tiers.js";
import { renderReportHtml } from "../../src/ui/html/corpus-report.js";
import { isSolved } from "../../src/verifier/reward.js";
import { entry, makeCorpus, specs } from "./datagen-corpus-fixture.js";

describe("difficulty tiers: one definition", () => {
  test("the definitions are in TIERS order, and tierFor agrees with their thresholds at every boundary", () => {
    assert.deepEqual(TIER_DEFINITIONS.map((d) => d.tier), [...TIERS]);
    for (const d of TIER_DEFINITIONS) {
      // One model: a tier starts at its lower bound, and just below its upper bound it (or an earlier rule) applies.
      if (d.from !== null) assert.equal(tierFor(d.from), d.tier, `${d.tier} starts at ${d.from}`);
      if (d.below !== null) assert.ok(tierRank(tierFor(d.below - 1e-9)) <= tierRank(d.tier), `${d.tier} below ${d.below}`);
      if (d.below !== null) assert.ok(tierRank(tierFor(d.below)) > tierRank(d.tier), `${d.tier} ends at ${d.below}`);
    }
    assert.equal(tierFor(0.1, 0.9), "advanced_plus");
    assert.deepEqual(TIERS.map(tierRank), [0, 1, 2, 3, 4]);
    assert.equal(tierRank("legendary"), TIERS.length, "unknown tiers sort last");
    assert.deepEqual(TIERS.filter((t) => !isBenchmarkWorthy(t)), ["easy"]);
    assert.equal(isBenchmarkWorthy("legendary"), true);
    assert.deepEqual(
      TIER_DEFINITIONS.map((d) => `${tierRule(d)}; ${tierTarget(d)}`),
      [
        "max accuracy < 40%; target 10–20%",
        "min accuracy < 40%; target 30–40%",
        "40% ≤ min accuracy < 60%; target 20–30%",
        "60% ≤ min accuracy < 80%; target 20–30%",
        "min accuracy ≥ 80%; not benchmark-worthy",
      ],
    );
  });

  test("tier accuracy counts rewarded attempts (reward > 0, no exception), which is not isSolved (reward ≥ 1)", () => {
    const r = (rewards: Record<string, number> | null, exceptionType: string | null = null) => ({ rewards, exceptionType });
    assert.equal(isRewardedAttempt(r({ reward: 0.5 })), true);
    assert.equal(isSolved({ reward: 0.5 }), false);
    assert.equal(isRewardedAttempt(r({ reward: 1 }, "AgentTimeoutError")), false, "an exception counts as 0");
    assert.equal(isRewardedAttempt(r({ reward: 0 })), false);
    assert.equal(isRewardedAttempt(r(null)), false);
    // The primary reward decides: `reward` when present, else the first key in sorted order.
    assert.equal(isRewardedAttempt(r({ accuracy: 0, reward: 1 })), true);
    assert.equal(isRewardedAttempt(r({ zeta: 1, alpha: 0 })), false);
  });

  test("gen analyze and the HTML report order tiers by the same definition", async () => {
    const ss = specs(5);
    const corpus = await makeCorpus(ss);
    const given: Tier[] = ["easy", "core", "frontier", "easy", "advanced"];
    for (const [i, s] of ss.entries()) {
      await updateTaskMetadata(join(corpus, taskDirName(s)), { difficulty_tier: given[i], solve: { agent: "oracle", attempts: 2, successes: 1, accuracy: 0.5, pass_at_k: { "1": 0.5, "2": 1 }, job: "j" } });
    }
    const report = analyzeCorpus(corpus);
    assert.deepEqual(report.tiers, [
      { tier: "frontier", count: 1 },
      { tier: "advanced", count: 1 },
      { tier: "core", count: 1 },
      { tier: "easy", count: 2 },
    ]);
    assert.deepEqual(report.passAtK, { "1": 0.5, "2": 1 });
    // The report sorts whatever order it gets by TIERS, and describes each tier with its rule and target.
    const html = renderReportHtml({ ...report, tiers: [...report.tiers].reverse() });
    const section = /<section id="tiers"[\s\S]*?<\/section>/.exec(html)![0];
    const positions = report.tiers.map((t) => section.indexOf(`>${t.tier}<`));
    assert.ok(positions.every((p) => p >= 0), "every tier is drawn");
    assert.deepEqual([...positions].sort((a, b) => a - b), positions, "drawn in TIERS order");
    for (const d of TIER_DEFINITIONS.filter((x) => report.tiers.some((t) => t.tier === x.tier))) {
      assert.ok(section.includes(tierRule(d).replace("<", "&lt;")), `rule of ${d.tier}`);
    }
  });
});

describe("generation stages: one definition", () => {
  test("the pipeline is the LLM stages then the validation stages", () => {
    assert.deepEqual([...PIPELINE_STAGES], [...LLM_STAGES, ...VALIDATION_STAGES]);
    assert.deepEqual([...LLM_STAGES], ["task", "environment", "tests", "solution"]);
    assert.deepEqual([...VALIDATION_STAGES], ["build", "initial_tests", "nop", "oracle"]);
    assert.deepEqual(validationStagesBefore("build"), []);
    assert.deepEqual(validationStagesBefore("oracle"), ["build", "initial_tests", "nop"]);
  });

  test("gen analyze reports survival in pipeline order and the HTML report draws it in that order", async () => {
    const ss = specs(3);
    const corpus = await makeCorpus(ss.slice(0, 2), { rejected: new Set([ss[1]!.id]) });
    appendManifest(corpus, entry(ss[2]!, { status: "rejected", reason: "solution_fails", stage: "solution", task: null, stages_passed: [...LLM_STAGES, ...validationStagesBefore("oracle")] }));
    const report = analyzeCorpus(corpus);
    assert.deepEqual(report.stages.map((s) => s.stage), [...PIPELINE_STAGES]);
    const survival = Object.fromEntries(report.stages.map((s) => [s.stage, [s.reached, s.passed]]));
    assert.deepEqual(survival.task, [3, 3]);
    assert.deepEqual(survival.build, [3, 2], "the build_failed spec reached build");
    assert.deepEqual(survival.oracle, [2, 1]);
    const section = /<section id="stages"[\s\S]*?<\/section>/.exec(renderReportHtml(report))![0];
    const positions = PIPELINE_STAGES.map((s) => section.indexOf(`>${s}<`));
    assert.ok(positions.every((p) => p >= 0), "every stage is drawn");
    assert.deepEqual([...positions].sort((a, b) => a - b), positions);
  });
});

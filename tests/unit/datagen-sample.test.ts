import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { loadTaxonomy, resolveCorpusKind, taxonomyStats, type TaxonomyError } from "../../src/datagen/taxonomy.js";
import { marginals, sampleSpec, sampleSpecs, type SpecAxis } from "../../src/datagen/sample.js";
import { tempDir } from "../helpers/task-fixture.js";

const t = loadTaxonomy();
const N = 60_000;

/** Asserts every value's share is within ±1 percentage point of the expected share. */
function assertMarginals(kind: string, axis: SpecAxis, expected: Record<string, number>, specs = sampleSpecs(t, kind, 7, N)): void {
  const got = marginals(specs, axis);
  for (const [value, share] of Object.entries(expected)) {
    const actual = got.get(value) ?? 0;
    assert.ok(Math.abs(actual - share) <= 0.01, `${kind} ${axis}=${value}: ${(actual * 100).toFixed(2)}% vs expected ${(share * 100).toFixed(2)}%`);
  }
  for (const value of got.keys()) assert.ok(value in expected, `${kind} ${axis}: unexpected value ${value}`);
}

describe("taxonomy file", () => {
  test("has the spec's richness: ≥9 domains, ≥280 skills, ≥85 personas, per-domain counts", () => {
    const s = taxonomyStats(t);
    assert.ok(s.domains >= 9 && s.skills >= 280 && s.personas >= 85, JSON.stringify(s));
    const counts = Object.fromEntries(t.domains.map((d) => [d.name, [d.skill_types.length, new Set(d.skill_types.flatMap((x) => x.skills)).size, d.personas.length, d.anchors.length]]));
    assert.deepEqual(counts.debugging, [7, 39, 12, 7]);
    assert.deepEqual(counts.system_administration, [6, 33, 18, 5]);
    assert.deepEqual(t.languages.map((l) => [l.name, l.weight]), [["Python", 0.35], ["C", 0.15], ["Bash", 0.15], ["C++", 0.1], ["Rust", 0.07], ["Go", 0.07], ["multi-language", 0.06], ["any", 0.05]]);
  });

  test("a broken taxonomy file is rejected with the file and the path of each problem", () => {
    const dir = tempDir();
    const bad = JSON.parse(JSON.stringify(t));
    bad.domains[2].personas = [];
    bad.languages[0].weight = -1;
    bad.corpus_aliases.x = "nope";
    const file = join(dir, "taxonomy.json");
    writeFileSync(file, JSON.stringify(bad));
    assert.throws(() => loadTaxonomy(file), (e: TaxonomyError) => {
      assert.match(e.message, new RegExp(`${file}: invalid taxonomy`));
      assert.match(e.message, /domains\.2\.personas/);
      assert.match(e.message, /languages\.0\.weight/);
      assert.match(e.message, /corpus_aliases\.x: names unknown corpus kind "nope"/);
      return true;
    });
    writeFileSync(file, "{ not json");
    assert.throws(() => loadTaxonomy(file), /not valid JSON/);
  });

  test("corpus kind names and aliases", () => {
    assert.equal(resolveCorpusKind(t, "rl"), "rl_v2");
    assert.equal(resolveCorpusKind(t, "sft"), "sft_v2");
    assert.equal(resolveCorpusKind(t, "legacy"), "legacy");
    assert.throws(() => resolveCorpusKind(t, "big"), /unknown corpus kind "big"; choose one of: legacy, rl, rl_v2, sft, sft_v2/);
  });
});

describe("sampling", () => {
  test("the same seed gives the same specs; each spec can be redrawn alone", () => {
    const a = sampleSpecs(t, "rl_v2", 7, 50);
    assert.deepEqual(sampleSpecs(t, "rl_v2", 7, 50), a);
    assert.deepEqual(sampleSpec(t, "rl_v2", 7, 37), a[37]);
    assert.notDeepEqual(sampleSpecs(t, "rl_v2", 8, 50), a);
    assert.match(a[0]!.id, /^spec_000000_[0-9a-f]{8}$/);
    assert.equal(new Set(a.map((s) => s.id)).size, 50);
  });

  test("a spec is internally consistent: skills, persona and anchor come from its domain", () => {
    for (const s of sampleSpecs(t, "sft_v2", 3, 500)) {
      const d = t.domains.find((x) => x.name === s.domain)!;
      const skills = new Set(d.skill_types.flatMap((x) => x.skills));
      assert.ok(s.skills.length >= 3 && s.skills.length <= 5);
      assert.equal(new Set(s.skills).size, s.skills.length, "skills are distinct");
      assert.ok(s.skills.every((k) => skills.has(k)));
      assert.ok(d.skill_types.some((x) => x.name === s.skill_type));
      assert.ok(d.personas.includes(s.persona));
      assert.ok(s.anchor === null || d.anchors.includes(s.anchor));
    }
  });

  const third = 1 / 3;
  const lang = Object.fromEntries(t.languages.map((l) => [l.name, l.weight]));
  const domains = Object.fromEntries(t.domains.map((d) => [d.name, 1 / 9]));
  const commands = Object.fromEntries(t.command_complexity.map((c) => [c.name, third]));

  test("legacy marginals over 60,000 draws (±1 pp)", () => {
    const specs = sampleSpecs(t, "legacy", 7, N);
    assertMarginals("legacy", "task_complexity", { short: third, moderate: third, complex: third }, specs);
    assertMarginals("legacy", "verifier_kind", { exact_text: 1 }, specs);
    assertMarginals("legacy", "fixture_kind", { text_only: 1 }, specs);
    assertMarginals("legacy", "language", lang, specs);
    assertMarginals("legacy", "domain", domains, specs);
    assertMarginals("legacy", "command_complexity", commands, specs);
    const anchored = specs.filter((s) => s.anchor !== null).length / N;
    assert.ok(Math.abs(anchored - 0.35) <= 0.01, `anchor share ${anchored}`);
  });

  test("sft_v2 marginals over 60,000 draws (±1 pp)", () => {
    const specs = sampleSpecs(t, "sft_v2", 7, N);
    assertMarginals("sft_v2", "task_complexity", { short: 1 / 9, moderate: 1 / 9, complex: 1 / 9, intricate: 2 / 3 }, specs);
    assertMarginals("sft_v2", "verifier_kind", { exact_text: third, metric_threshold: 1 / 6, adversarial_corpus: 1 / 6, fuzz_equivalence: 1 / 6, multi_protocol: 1 / 6 }, specs);
    assertMarginals(
      "sft_v2",
      "fixture_kind",
      { text_only: third, image: 1 / 9, audio: 1 / 9, video: 1 / 9, stripped_binary: 1 / 9, vendored_package: 1 / 9, multi_service_compose: 1 / 9 },
      specs,
    );
    assertMarginals("sft_v2", "language", lang, specs);
    assertMarginals("sft_v2", "domain", domains, specs);
  });

  test("rl_v2 marginals over 60,000 draws (±1 pp)", () => {
    const specs = sampleSpecs(t, "rl_v2", 7, N);
    assertMarginals("rl_v2", "task_complexity", { short: 1 / 12, moderate: 1 / 12, complex: 1 / 12, intricate: 3 / 4 }, specs);
    assertMarginals("rl_v2", "verifier_kind", { metric_threshold: 0.25, adversarial_corpus: 0.25, fuzz_equivalence: 0.25, multi_protocol: 0.25 }, specs);
    assertMarginals(
      "rl_v2",
      "fixture_kind",
      { image: 1 / 6, audio: 1 / 6, video: 1 / 6, stripped_binary: 1 / 6, vendored_package: 1 / 6, multi_service_compose: 1 / 6 },
      specs,
    );
    assertMarginals("rl_v2", "language", lang, specs);
    assertMarginals("rl_v2", "command_complexity", commands, specs);
  });
});

/**
 * bench/datagen: sampling 15,000 task specs (and writing them as JSONL) plus decontaminating 15,000 task texts
 * (~1,000–1,500 words each) against 100 benchmark instructions at n = 13 and n = 8. Goal: < 10 s in total.
 *
 *   node --import tsx bench/datagen/run.ts [--specs 15000] [--texts 15000] [--benchmarks 100] [--json]
 */
import { parseArgs } from "node:util";
import { uniformInt } from "pure-rand/distribution/uniformInt";
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";
import { loadTaxonomy } from "../../src/datagen/taxonomy.js";
import { sampleSpecs } from "../../src/datagen/sample.js";
import { decontaminate, type TextDoc } from "../../src/datagen/decontam.js";

const { values } = parseArgs({
  options: {
    specs: { type: "string", default: "15000" },
    texts: { type: "string", default: "15000" },
    benchmarks: { type: "string", default: "100" },
    json: { type: "boolean", default: false },
  },
});
const SPECS = Number(values.specs);
const TEXTS = Number(values.texts);
const BENCH = Number(values.benchmarks);

// Inputs (not timed): a vocabulary from the taxonomy's own words plus synthetic ones, so texts look like task prose.
const t = loadTaxonomy();
const words = [...new Set(JSON.stringify(t).toLowerCase().split(/[^a-z0-9]+/).filter(Boolean))];
for (let i = 0; words.length < 8000; i++) words.push(`w${i.toString(36)}`);
const rng = xoroshiro128plus(2026);
const text = (n: number): string => Array.from({ length: n }, () => words[uniformInt(rng, 0, words.length - 1)]).join(" ");
const benchmarks: TextDoc[] = Array.from({ length: BENCH }, (_, i) => ({ id: `bench-${i}`, text: text(uniformInt(rng, 300, 900)) }));
const corpus: TextDoc[] = Array.from({ length: TEXTS }, (_, i) => {
  let body = text(uniformInt(rng, 1000, 1500));
  // 1 in 500 texts quotes 20 words of a benchmark instruction: the scan must find them.
  if (i % 500 === 0) body += " " + benchmarks[i % BENCH]!.text.split(" ").slice(10, 30).join(" ");
  return { id: `task-${i}`, text: body };
});
const totalWords = corpus.reduce((s, d) => s + d.text.split(" ").length, 0);

const t0 = performance.now();
const specs = sampleSpecs(t, "rl_v2", 7, SPECS);
const jsonl = specs.map((s) => JSON.stringify(s)).join("\n");
const samplingSec = (performance.now() - t0) / 1000;

const t1 = performance.now();
const report = decontaminate(corpus, [{ name: "bench", docs: benchmarks }], [13, 8]);
const decontamSec = (performance.now() - t1) / 1000;

const expected = Math.ceil(TEXTS / 500);
const flagged13 = report.rows.find((r) => r.n === 13)!.contaminated;
if (flagged13 !== expected) throw new Error(`expected ${expected} contaminated texts at n=13, found ${flagged13}`);
const total = samplingSec + decontamSec;
const result = {
  specs: SPECS,
  specs_jsonl_mb: jsonl.length / 1e6,
  texts: TEXTS,
  words: totalWords,
  benchmarks: BENCH,
  sampling_s: samplingSec,
  decontam_s: decontamSec,
  total_s: total,
  contaminated_13: flagged13,
  goal_met: total < 10,
};
if (values.json) console.log(JSON.stringify(result, null, 2));
else {
  console.log(`bench/datagen: sample ${SPECS} specs + decontaminate ${TEXTS} texts (${(totalWords / 1e6).toFixed(1)}M words) vs ${BENCH} benchmark docs, n = 13 and 8`);
  console.log(`  sampling (+ JSONL):  ${samplingSec.toFixed(2)} s`);
  console.log(`  decontamination:     ${decontamSec.toFixed(2)} s  (${flagged13} texts flagged at n=13, as planted)`);
  console.log(`  total:               ${total.toFixed(2)} s  (goal < 10 s: ${total < 10 ? "met" : "NOT met"})`);
}

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  contaminatedIds,
  csvField,
  decontaminate,
  NgramIndex,
  removeContaminated,
  reportCsv,
  reportMarkdown,
  scan,
  tokenize,
  Vocabulary,
  type DecontamReport,
  type TextDoc,
} from "../../src/datagen/decontam.js";

/** Deterministic PRNG (mulberry32) in [0, 1). */
function rng(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Words prefix0 … prefix{count-1}, starting at `from`. */
function words(prefix: string, from: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${from + i}`);
}

const doc = (id: string, ws: readonly string[]): TextDoc => ({ id, text: ws.join(" ") });

/** A benchmark document of 40 words b0 … b39 (no word repeats, so every n-gram is distinct). */
const BENCH_WORDS = words("b", 0, 40);
const benchIndex = (ns: number[] = [13, 8]): NgramIndex => new NgramIndex([doc("bench-1", BENCH_WORDS)], ns);

/** A corpus document: 20 filler words, the given run, 20 more filler words. */
const withRun = (id: string, run: readonly string[]): TextDoc =>
  doc(id, [...words("c", 0, 20), ...run, ...words("c", 20, 20)]);

/** Naive reference: the set of all n-grams of the token lists, space-joined. */
function ngramSet(docs: readonly string[][], n: number): Set<string> {
  const set = new Set<string>();
  for (const t of docs) for (let i = 0; i + n <= t.length; i++) set.add(t.slice(i, i + n).join(" "));
  return set;
}

describe("tokenize", () => {
  test("lowercases and splits on punctuation and whitespace", () => {
    assert.deepEqual(tokenize("Hello, World! It's 2024."), ["hello", "world", "it", "s", "2024"]);
    assert.deepEqual(tokenize("snake_case\ttab\nnew-line"), ["snake", "case", "tab", "new", "line"]);
  });

  test("drops empty tokens at the edges and in separator runs", () => {
    assert.deepEqual(tokenize("  --leading ... and ,,, trailing--  "), ["leading", "and", "trailing"]);
    assert.deepEqual(tokenize(""), []);
    assert.deepEqual(tokenize("!!! ---"), []);
  });

  test("digits belong to tokens", () => {
    assert.deepEqual(tokenize("v1.2.3 abc123DEF 0x1F"), ["v1", "2", "3", "abc123def", "0x1f"]);
  });

  test("unicode letters are separators", () => {
    assert.deepEqual(tokenize("café naïve Straße 東京 x"), ["caf", "na", "ve", "stra", "e", "x"]);
    assert.deepEqual(tokenize("ÉCOLE"), ["cole"]);
  });

  test("the vocabulary's in-place tokeniser agrees with tokenize on random text", () => {
    const rand = rng(7);
    const alphabet = "abcXYZ019 ,.-_\n\téÉßİ東\u212a";
    for (let k = 0; k < 200; k++) {
      let text = "";
      const len = Math.floor(rand() * 60);
      for (let i = 0; i < len; i++) text += alphabet[Math.floor(rand() * alphabet.length)];
      const vocab = new Vocabulary();
      const ids = vocab.learnText(text);
      assert.deepEqual([...ids].map((id) => vocab.word(id)), tokenize(text), JSON.stringify(text));
      assert.deepEqual([...vocab.encodeText(text)], [...ids]);
    }
  });

  test("the vocabulary reports unknown tokens as -1", () => {
    const vocab = new Vocabulary();
    vocab.learnText("alpha beta");
    assert.deepEqual([...vocab.encodeText("Beta GAMMA alpha alphabet")], [1, -1, 0, -1]);
    assert.equal(vocab.id("beta"), 1);
    assert.equal(vocab.id("Beta"), -1);
    assert.equal(vocab.size, 2);
  });
});

describe("n-gram scan", () => {
  test("one shared 13-word run is flagged at n = 13 (1 hit) and n = 8 (6 hits)", () => {
    const index = benchIndex();
    const d = withRun("t", BENCH_WORDS.slice(10, 23));
    const at13 = scan(index, d, 13);
    assert.equal(at13.hits, 1);
    assert.equal(at13.ngrams, 53 - 13 + 1);
    assert.deepEqual(at13.matched, [BENCH_WORDS.slice(10, 23).join(" ")]);
    const at8 = scan(index, d, 8);
    assert.equal(at8.hits, 13 - 8 + 1);
    assert.equal(at8.ngrams, 53 - 8 + 1);
    assert.deepEqual(at8.matched, [10, 11, 12].map((i) => BENCH_WORDS.slice(i, i + 8).join(" ")));
  });

  test("a shared 12-word run is flagged at n = 8 but not at n = 13", () => {
    const index = benchIndex();
    const d = withRun("t", BENCH_WORDS.slice(0, 12));
    assert.equal(scan(index, d, 13).hits, 0);
    assert.deepEqual(scan(index, d, 13).matched, []);
    assert.equal(scan(index, d, 8).hits, 5);
  });

  test("stride 1: a shared 14-word run gives 2 overlapping hits at n = 13", () => {
    const s = scan(benchIndex(), withRun("t", BENCH_WORDS.slice(5, 19)), 13);
    assert.equal(s.hits, 2);
    assert.deepEqual(s.matched, [BENCH_WORDS.slice(5, 18).join(" "), BENCH_WORDS.slice(6, 19).join(" ")]);
  });

  test("every matching position counts, duplicates in the benchmark count once", () => {
    const run = BENCH_WORDS.slice(0, 13);
    const index = new NgramIndex([doc("a", [...run, "x", ...run]), doc("b", run)], [13]);
    assert.equal(index.distinctNgrams(13), 1 + 13); // the run, plus the 13 windows that include "x"
    const s = scan(index, doc("t", [...run, "y", ...run, ...run]), 13);
    // Three copies of the run; windows with the unknown "y" or across the run+run seam are not benchmark n-grams.
    assert.equal(s.hits, 3);
    assert.equal(s.matched.length, 3);
  });

  test("case and separators do not hide a match; one changed word breaks it", () => {
    const index = new NgramIndex([{ id: "b", text: "The quick brown fox jumps over the lazy dog and runs far away" }], [13]);
    assert.equal(scan(index, { id: "t", text: "THE-QUICK, brown\nfox (jumps) over the LAZY dog; and runs far away!" }, 13).hits, 1);
    assert.equal(scan(index, { id: "t", text: "the quick brown fox jumps over the lazy cat and runs far away" }, 13).hits, 0);
  });

  test("documents shorter than n scan 0 n-grams", () => {
    const index = benchIndex();
    const short = doc("t", BENCH_WORDS.slice(0, 12));
    assert.deepEqual(scan(index, short, 13), { hits: 0, ngrams: 0, matched: [] });
    assert.equal(scan(index, short, 8).ngrams, 5);
    assert.equal(scan(index, short, 8).hits, 5);
    assert.deepEqual(scan(index, { id: "e", text: "" }, 8), { hits: 0, ngrams: 0, matched: [] });
  });

  test("scanning tokens equals scanning text", () => {
    const index = benchIndex();
    const d = withRun("t", BENCH_WORDS.slice(3, 20));
    assert.deepEqual(scan(index, tokenize(d.text), 8), scan(index, d, 8));
  });

  test("rejects n values that are not indexed or not positive integers", () => {
    const index = benchIndex([13]);
    assert.throws(() => scan(index, doc("t", BENCH_WORDS), 8), RangeError);
    assert.throws(() => new NgramIndex([], [0]), RangeError);
    assert.throws(() => new NgramIndex([], [2.5]), RangeError);
  });
});

describe("exact confirmation", () => {
  // Tiny alphabet: many real matches and many near misses. With hashBits = 3 every n-gram shares its hash with an
  // eighth of all others, so only the token-by-token confirmation can keep the counts equal to the naive reference.
  const rand = rng(42);
  const alphabet = ["red", "green", "blue", "gold"];
  const randomTokens = (len: number): string[] => Array.from({ length: len }, () => alphabet[Math.floor(rand() * 4)]!);
  const benchTokens = Array.from({ length: 5 }, () => randomTokens(300));
  const corpusTokens = Array.from({ length: 25 }, () => randomTokens(150 + Math.floor(rand() * 100)));
  const ns = [13, 8, 5];

  for (const hashBits of [64, 3]) {
    test(`hits equal a naive set-of-strings reference (hashBits = ${hashBits})`, () => {
      const index = new NgramIndex(benchTokens.map((t, i) => doc(`b${i}`, t)), ns, { hashBits });
      let misses = 0;
      let total = 0;
      for (const n of ns) {
        const reference = ngramSet(benchTokens, n);
        assert.equal(index.distinctNgrams(n), reference.size);
        corpusTokens.forEach((t, i) => {
          const s = scan(index, doc(`c${i}`, t), n);
          const expected: string[] = [];
          for (let j = 0; j + n <= t.length; j++) {
            const gram = t.slice(j, j + n).join(" ");
            if (reference.has(gram)) expected.push(gram);
          }
          assert.equal(s.hits, expected.length, `doc ${i}, n = ${n}`);
          assert.deepEqual(s.matched, expected.slice(0, 3));
          for (const m of s.matched) assert.ok(reference.has(m), `${m} is not a benchmark ${n}-gram`);
          misses += s.ngrams - s.hits;
          total += s.hits;
        });
      }
      // The data must exercise both outcomes, or the comparison proves nothing.
      assert.ok(total > 100, `only ${total} hits`);
      assert.ok(misses > 1000, `only ${misses} misses`);
    });
  }
});

describe("decontaminate report", () => {
  const tb2 = { name: "TB2", docs: [doc("tb2-a", words("p", 0, 30)), doc("tb2-b", words("q", 0, 30))] };
  const lite = { name: "TB-Lite", docs: [doc("lite-a", words("r", 0, 30))] };
  const corpus = [
    withRun("A", words("p", 0, 13)), // TB2: 1 hit at 13, 6 at 8
    withRun("B", words("r", 5, 9)), // TB-Lite: 0 at 13, 2 at 8
    withRun("C", []), // clean
    doc("D", [...words("q", 0, 20), ...words("r", 0, 14)]), // TB2: 8 at 13, 13 at 8; TB-Lite: 2 at 13, 7 at 8
    doc("E", words("c", 0, 5)), // clean, shorter than both n
  ];
  const report = decontaminate(corpus, [tb2, lite]);
  const scanned = (n: number): number => [53, 49, 40, 34, 5].reduce((s, len) => s + Math.max(0, len - n + 1), 0);

  test("one row per (benchmark, n) with counts, rate and ids", () => {
    assert.deepEqual(report.ns, [13, 8]);
    assert.deepEqual(report.benchmarks, ["TB2", "TB-Lite"]);
    assert.deepEqual(report.rows, [
      { benchmark: "TB2", n: 13, docs: 5, contaminated: 2, rate: 0.4, hits: 9, ngramsScanned: scanned(13), contaminatedIds: ["A", "D"] },
      { benchmark: "TB2", n: 8, docs: 5, contaminated: 2, rate: 0.4, hits: 19, ngramsScanned: scanned(8), contaminatedIds: ["A", "D"] },
      { benchmark: "TB-Lite", n: 13, docs: 5, contaminated: 1, rate: 0.2, hits: 2, ngramsScanned: scanned(13), contaminatedIds: ["D"] },
      { benchmark: "TB-Lite", n: 8, docs: 5, contaminated: 2, rate: 0.4, hits: 9, ngramsScanned: scanned(8), contaminatedIds: ["B", "D"] },
    ]);
  });

  test("per-document flags say which (benchmark, n) flagged each document", () => {
    const flags = Object.fromEntries(report.flagged.map((f) => [f.id, f.flags.map((x) => `${x.benchmark}@${x.n}:${x.hits}`)]));
    assert.deepEqual(flags, {
      A: ["TB2@13:1", "TB2@8:6"],
      B: ["TB-Lite@8:2"],
      D: ["TB2@13:8", "TB2@8:13", "TB-Lite@13:2", "TB-Lite@8:7"],
    });
    assert.deepEqual(report.flagged[0]!.flags[0]!.examples, [words("p", 0, 13).join(" ")]);
  });

  test("callers can drop contaminated tasks for a chosen n and benchmarks", () => {
    assert.deepEqual([...contaminatedIds(report, 13)].sort(), ["A", "D"]);
    assert.deepEqual([...contaminatedIds(report, 8, ["TB-Lite"])].sort(), ["B", "D"]);
    assert.deepEqual(removeContaminated(corpus, report, 13).map((d) => d.id), ["B", "C", "E"]);
    assert.deepEqual(removeContaminated(corpus, report, 8).map((d) => d.id), ["C", "E"]);
  });

  test("the report survives a JSON round trip unchanged", () => {
    assert.deepEqual(JSON.parse(JSON.stringify(report)) as DecontamReport, report);
  });

  test("an empty corpus has rate 0; duplicate n values are merged", () => {
    const empty = decontaminate([], [tb2], [8, 8]);
    assert.deepEqual(empty.rows, [
      { benchmark: "TB2", n: 8, docs: 0, contaminated: 0, rate: 0, hits: 0, ngramsScanned: 0, contaminatedIds: [] },
    ]);
    assert.deepEqual(empty.flagged, []);
  });
});

describe("renderers", () => {
  const report = decontaminate(
    [withRun("A", words("p", 0, 13)), withRun("B", []), withRun("C", []), withRun("D", [])],
    [
      { name: "TB2", docs: [doc("x", words("p", 0, 30))] },
      { name: 'Terminal-Bench, "Lite" | v2', docs: [doc("y", words("r", 0, 30))] },
      { name: "TB, Lite", docs: [doc("z", words("c", 0, 30))] }, // the filler c0 … c29: 8 + 3 × 18 hits
    ],
    [13],
  );

  test("markdown: header, alignment row and one line per row", () => {
    const lines = reportMarkdown(report).trimEnd().split("\n");
    assert.deepEqual(lines, [
      "| benchmark | n | docs | contaminated | rate % | hits | n-grams scanned |",
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
      "| TB2 | 13 | 4 | 1 | 25.00 | 1 | 125 |",
      '| Terminal-Bench, "Lite" \\| v2 | 13 | 4 | 0 | 0.00 | 0 | 125 |',
      "| TB, Lite | 13 | 4 | 4 | 100.00 | 62 | 125 |",
    ]);
  });

  test("CSV: header plus one line per row, RFC 4180 quoting", () => {
    const lines = reportCsv(report).trimEnd().split("\n");
    assert.deepEqual(lines, [
      "benchmark,n,docs,contaminated,rate,hits,ngrams_scanned",
      "TB2,13,4,1,0.25,1,125",
      '"Terminal-Bench, ""Lite"" | v2",13,4,0,0,0,125',
      '"TB, Lite",13,4,4,1,62,125',
    ]);
    assert.ok(reportCsv(report).endsWith("\n"));
  });

  test("CSV fields are quoted only when needed", () => {
    assert.equal(csvField("plain name"), "plain name");
    assert.equal(csvField("a,b"), '"a,b"');
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
    assert.equal(csvField("two\nlines"), '"two\nlines"');
    assert.equal(csvField(0.125), "0.125");
  });
});

describe("at scale", () => {
  // Speed is bench/datagen's to measure; a wall-clock bound here failed on a busy machine.
  test("2,000 docs of ~1,000 words against 100 benchmark docs, n = 13 and 8: every planted run found", (t) => {
    const rand = rng(2024);
    const vocab = Array.from({ length: 5000 }, (_, i) => `w${i.toString(36)}z`);
    const seps = [" ", " ", " ", " ", ", ", ". ", "\n", " - "];
    const text = (tokens: readonly string[]): string =>
      tokens.map((w, i) => (i % 17 === 0 ? w.toUpperCase() : w) + seps[Math.floor(rand() * seps.length)]).join("");
    const randomWords = (len: number): string[] => Array.from({ length: len }, () => vocab[Math.floor(rand() * vocab.length)]!);
    const benchTokens = Array.from({ length: 100 }, () => randomWords(900 + Math.floor(rand() * 200)));
    const corpus: TextDoc[] = Array.from({ length: 2000 }, (_, i) => {
      const tokens = randomWords(900 + Math.floor(rand() * 200));
      // Every 100th document carries a 20-word run of a benchmark document.
      if (i % 100 === 0) tokens.splice(500, 0, ...benchTokens[i / 100]!.slice(300, 320));
      return { id: `task-${i}`, text: text(tokens) };
    });
    const benchmark = { name: "synthetic", docs: benchTokens.map((tk, i) => ({ id: `bench-${i}`, text: text(tk) })) };

    const start = performance.now();
    const report = decontaminate(corpus, [benchmark], [13, 8]);
    const ms = performance.now() - start;
    t.diagnostic(`decontaminate(2000 docs, 100 benchmark docs, n = 13, 8): ${ms.toFixed(0)} ms`);

    const [at13, at8] = report.rows;
    assert.equal(at13!.contaminated, 20);
    assert.equal(at13!.hits, 20 * 8);
    assert.equal(at8!.contaminated, 20);
    assert.equal(at8!.hits, 20 * 13);
    assert.ok(at13!.ngramsScanned > 1_700_000, `${at13!.ngramsScanned} n-grams scanned`);
  });
});

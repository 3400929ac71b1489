import assert from "node:assert/strict";
import { mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { AnalysisReport, AxisStats, AxisValueStats } from "../../src/datagen/analysis-types.js";
import { renderReportHtml } from "../../src/ui/html/corpus-report.js";
import { escapeHtml, formatCount, formatPercent, formatSeconds, formatUsd } from "../../src/ui/html/format.js";
import { barChartSvg, niceTicks } from "../../src/ui/html/svg-charts.js";

const MALICIOUS = "<img src=x onerror=alert(1)>";

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function axis(name: string, values: string[], seed: number, opts: { solved?: boolean; baseSampled?: number } = {}): AxisStats {
  const rand = rng(seed);
  const base = opts.baseSampled ?? 400;
  const stats: AxisValueStats[] = values.map((value) => {
    const sampled = Math.max(1, Math.round(base * (0.3 + rand() * 1.4)));
    const finished = Math.round(sampled * (0.85 + rand() * 0.15));
    const accepted = Math.round(finished * (0.35 + rand() * 0.45));
    const rejected = finished - accepted;
    const solved = opts.solved ? Math.round(accepted * 0.6) : 0;
    return {
      value,
      sampled,
      accepted,
      rejected,
      acceptanceRate: finished > 0 ? accepted / finished : null,
      passRate: solved > 0 ? 0.1 + rand() * 0.7 : null,
      solved,
    };
  });
  const acc = stats.reduce((s, v) => s + v.accepted, 0);
  let h = 0;
  for (const v of stats) if (v.accepted > 0) h -= (v.accepted / acc) * Math.log(v.accepted / acc);
  return { axis: name, values: stats, balance: stats.length > 0 ? Math.exp(h) / stats.length : null };
}

function sampleReport(): AnalysisReport {
  const skills = Array.from({ length: 60 }, (_, i) => `skill_${String(i + 1).padStart(2, "0")}_${["regex", "awk", "systemd", "gdb", "sqlite", "ffmpeg"][i % 6]}`);
  return {
    corpusDir: "/data/corpora/rl_v2-2025-06 & \"friends\"",
    generatedAt: "2025-06-14T09:31:07.000Z",
    totals: {
      specs: 3400,
      accepted: 1830,
      rejected: 1170,
      pending: 400,
      acceptanceRate: 1830 / 3000,
      costUsd: 412.5,
      costPerAcceptedUsd: 412.5 / 1830,
      promptTokens: 48_213_456,
      completionTokens: 9_876_543,
      meanSecondsPerSpec: 187.44,
    },
    rejections: [
      { reason: "build_failed", count: 512 },
      { reason: "initial_state_test_failed", count: 301 },
      { reason: "smoke_test_timeout", count: 190 },
      { reason: "invalid_json_from_llm", count: 97 },
      { reason: "final test <b>bold</b> & \"quoted\"", count: 70 },
    ],
    stages: [
      { stage: "template", reached: 3000, passed: 2890 },
      { stage: "initial_state_test", reached: 2890, passed: 2570 },
      { stage: "final_state_test", reached: 2570, passed: 2380 },
      { stage: "container_build", reached: 2380, passed: 1868 },
      { stage: "smoke_test", reached: 1868, passed: 1830 },
    ],
    axes: [
      axis("domain", ["security", "software_engineering", "file_operations", "data_querying", "data_science", "debugging", "scientific_computing", "data_processing", "system_administration"], 1, { solved: true }),
      axis("language", ["python", "c", "bash", "cpp", "rust", "go", "multi", MALICIOUS], 2, { solved: true }),
      axis("task_complexity", ["short", "moderate", "complex", "intricate"], 3),
      axis("skills", skills, 4, { solved: true, baseSampled: 120 }),
    ],
    tiers: [
      { tier: "easy", count: 210 },
      { tier: "frontier", count: 120 },
      { tier: "advanced_plus", count: 330 },
      { tier: "advanced", count: 240 },
      { tier: "core", count: 200 },
    ],
    passAtK: { "1": 0.4213, "4": 0.6121, "8": 0.7034, "2": 0.5102 },
    generators: [
      { model: "qwen3-coder-480b", accepted: 1210 },
      { model: "glm-4.6 <script>alert(2)</script>", accepted: 620 },
    ],
  };
}

/** The markup of the element with this id (first matching closing tag; sections and articles are not nested in kind). */
function element(html: string, tagName: string, id: string): string | undefined {
  const m = new RegExp(`<${tagName}[^>]*\\bid="${id}"[\\s\\S]*?</${tagName}>`).exec(html);
  return m?.[0];
}

describe("report-html formatting helpers", () => {
  test("escapeHtml escapes markup characters and quotes", () => {
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    assert.equal(escapeHtml(null), "");
    assert.equal(escapeHtml(42), "42");
  });
  test("numbers: counts, percentages, money, seconds", () => {
    assert.equal(formatCount(1234567), "1,234,567");
    assert.equal(formatCount(null), "–");
    assert.equal(formatPercent(0.61), "61.0%");
    assert.equal(formatPercent(1 / 3), "33.3%");
    assert.equal(formatPercent(null), "–");
    assert.equal(formatUsd(412.5), "$412.50");
    assert.equal(formatUsd(1234.567), "$1,234.57");
    assert.equal(formatUsd(412.5 / 1830), "$0.225");
    assert.equal(formatUsd(0.01234), "$0.0123");
    assert.equal(formatUsd(0), "$0.00");
    assert.equal(formatUsd(null), "–");
    assert.equal(formatSeconds(187.44), "187.4 s");
    assert.equal(formatSeconds(187.96), "188.0 s");
  });
  test("niceTicks covers the data with round steps", () => {
    assert.deepEqual(niceTicks(512), { max: 600, ticks: [0, 100, 200, 300, 400, 500, 600] });
    assert.deepEqual(niceTicks(3, 5, true), { max: 3, ticks: [0, 1, 2, 3] });
    assert.deepEqual(niceTicks(0), { max: 1, ticks: [0, 1] });
  });
  test("barChartSvg escapes labels and draws one bar per segment", () => {
    const svg = barChartSvg(
      [{ label: "a<b", segments: [{ name: "x", value: 3, color: "#000" }, { name: "y", value: 2, color: "#111" }] }],
      { title: "t" },
    );
    assert.ok(svg.startsWith("<svg"));
    assert.ok(svg.includes("a&lt;b"));
    assert.ok(!svg.includes("a<b"));
    assert.equal(svg.match(/<rect/g)?.length, 2);
  });
});

describe("renderReportHtml", () => {
  const report = sampleReport();
  const html = renderReportHtml(report);

  test("is one self-contained HTML document", () => {
    assert.ok(html.startsWith("<!DOCTYPE html>"));
    assert.ok(html.includes("<style>"));
    assert.ok(html.trimEnd().endsWith("</html>"));
    assert.doesNotMatch(html, /<script/i);
    assert.doesNotMatch(html, /<link/i);
    assert.doesNotMatch(html, /<img/i);
    assert.doesNotMatch(html, /https?:\/\//i);
    assert.doesNotMatch(html, /url\(|@import/i);
    assert.equal(renderReportHtml(sampleReport()), html, "deterministic");
  });

  test("header shows the corpus, time and headline figures", () => {
    assert.ok(html.includes(escapeHtml(report.corpusDir)));
    assert.ok(!html.includes(report.corpusDir));
    assert.ok(html.includes("2025-06-14T09:31:07.000Z"));
    const overview = element(html, "section", "overview");
    assert.ok(overview);
    for (const figure of ["3,400", "1,830", "1,170", "400", "61.0%", "$412.50", "$0.225", "58.1M", "187.4 s"]) {
      assert.ok(overview.includes(figure), figure);
    }
    assert.ok(overview.includes("48,213,456"));
  });

  test("every chart section has an inline SVG", () => {
    for (const id of ["stages", "rejections", "tiers", "passk"]) {
      const section = element(html, "section", id);
      assert.ok(section, id);
      assert.match(section, /<svg/, id);
    }
    for (const a of report.axes) {
      const article = element(html, "article", `axis-${a.axis}`);
      assert.ok(article, a.axis);
      assert.equal(article.match(/<svg class="chart"/g)?.length, 2, a.axis);
      assert.ok(article.includes(a.balance!.toFixed(2)), `balance of ${a.axis}`);
    }
    assert.ok(element(html, "section", "generators")?.includes("qwen3-coder-480b"));
    assert.ok(element(html, "section", "passk")?.includes("42.1%"));
  });

  test("escapes hostile values from the report", () => {
    assert.ok(!html.includes(MALICIOUS));
    assert.ok(html.includes(escapeHtml(MALICIOUS)));
    assert.ok(!html.includes("<b>bold</b>"));
    assert.ok(html.includes("&lt;b&gt;bold&lt;/b&gt; &amp; &quot;quoted&quot;"));
    assert.ok(html.includes("glm-4.6 &lt;script&gt;alert(2)&lt;/script&gt;"));
  });

  test("large axes show the top 25 values and summarise the rest", () => {
    const skills = element(html, "article", "axis-skills");
    assert.ok(skills);
    assert.ok(skills.includes("35 more values"));
    // The summary row is text only, so its large total does not squash the scale of the drawn bars.
    assert.ok(!skills.includes("more values — accepted"));
    const top = [...report.axes[3]!.values].sort((a, b) => b.sampled - a.sampled || a.value.localeCompare(b.value));
    assert.ok(skills.includes(`>${top[0]!.value}<`) || skills.includes(`${top[0]!.value}\n`));
    // The least sampled value is not drawn on its own.
    assert.ok(!skills.includes(`${top[59]!.value}\n`));
    const domain = element(html, "article", "axis-domain");
    assert.ok(domain && !domain.includes("more values"));
  });

  test("pass rate appears only for axes that have it", () => {
    assert.ok(element(html, "article", "axis-domain")?.includes("pass rate (mean pass@1"));
    const complexity = element(html, "article", "axis-task_complexity");
    assert.ok(complexity);
    assert.ok(!complexity.includes("pass rate"));
    assert.ok(complexity.includes("Acceptance rate per value"));
  });

  test("empty sections are omitted", () => {
    const bare = renderReportHtml({ ...report, tiers: [], passAtK: {}, rejections: [], generators: [] });
    assert.ok(!bare.includes('id="tiers"'));
    assert.ok(!bare.includes("Difficulty tiers"));
    assert.ok(!bare.includes('id="passk"'));
    assert.ok(!bare.includes('id="rejections"'));
    assert.ok(!bare.includes('id="generators"'));
    assert.ok(bare.includes('id="stages"'));
    const empty = renderReportHtml({
      ...report,
      totals: { ...report.totals, specs: 0, accepted: 0, rejected: 0, pending: 0, acceptanceRate: null, costUsd: 0, costPerAcceptedUsd: null, meanSecondsPerSpec: null },
      rejections: [],
      stages: [],
      axes: [],
      tiers: [],
      passAtK: {},
      generators: [],
    });
    assert.ok(empty.startsWith("<!DOCTYPE html>"));
    assert.doesNotMatch(empty, /NaN|Infinity|undefined/);
  });

  test("writes a sample rendering to disk", (t) => {
    const dir = mkdtempSync(join(tmpdir(), "tmax-report-html-"));
    const file = join(dir, "report.html");
    writeFileSync(file, html);
    assert.ok(statSync(file).size > 10_000);
    t.diagnostic(`sample report: ${file}`);
  });
});

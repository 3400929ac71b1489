import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { legendLayout, lineChartSvg } from "../../src/ui/html/line-chart.js";
import { trainChartsSvg } from "../../src/ui/html/train-report.js";

const legendTexts = (svg: string): { x: number; y: number; name: string }[] =>
  [...svg.matchAll(/<text x="([\d.]+)" y="([\d.]+)" font-size="11" fill="[^"]+">● ([^<]+)<\/text>/g)].map((m) => ({ x: Number(m[1]), y: Number(m[2]), name: m[3]! }));

describe("line chart legend", () => {
  it("keeps every entry inside the chart's width, wrapping to a new row (the reward chart's 4 names at 420 px)", () => {
    const [reward] = trainChartsSvg([{ step: 1, reward_mean: 0.2 }, { step: 2, reward_mean: 0.4 }]);
    const entries = legendTexts(reward!);
    assert.deepEqual(
      entries.map((e) => e.name),
      ["reward mean", "trained groups", "held-out eval", "per pass over the tasks"],
    );
    for (const e of entries) assert.ok(e.x + 16 + e.name.length * 6.5 <= 420, `${e.name} at x ${e.x} passes the 420 px edge`);
    assert.ok(new Set(entries.map((e) => e.y)).size >= 2, "four names do not fit one row at 420 px");
    const height = Number(/height="(\d+)"/.exec(reward!)![1]);
    assert.equal(height, 180 + 14 * (new Set(entries.map((e) => e.y)).size - 1), "the chart grows by a row per extra legend row");
  });

  it("puts entries that fit on one row, side by side without overlap", () => {
    const placed = legendLayout(["a", "bb", "ccc"], 44, 410);
    assert.deepEqual(
      placed.map((p) => p.row),
      [0, 0, 0],
    );
    for (let i = 1; i < placed.length; i++) assert.ok(placed[i]!.x > placed[i - 1]!.x);
    const svg = lineChartSvg([{ name: "only", color: "#000", values: [1, 2] }], { title: "t", xs: [1, 2] });
    assert.match(svg, /height="180"/);
  });
});

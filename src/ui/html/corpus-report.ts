/**
 * Renders an `AnalysisReport` (analysis-types.ts) as ONE self-contained HTML document: inline CSS, inline SVG charts
 * drawn here, no scripts, no external fonts/images/styles. A Content-Security-Policy meta tag forbids loading anything
 * at all, as a second line of defence behind `escapeHtml`: every string that comes from the report (paths, axis
 * values, rejection reasons, model names — LLM-generated data) is escaped before it reaches the markup.
 *
 * Layout: header + headline cards, pipeline (stage survival funnel, rejection reasons), one small-multiples block per
 * axis (sampled counts stacked accepted/rejected/unfinished, acceptance and pass rate as a dot column, balance score),
 * difficulty tiers, pass@k, generator models. Empty sections are omitted. Output is deterministic for a given report.
 */
import type { AnalysisReport, AxisStats, AxisValueStats } from "../../datagen/analysis-types.js";
import { isBenchmarkWorthy, tierDefinition, tierRank, tierRule, tierTarget, type Tier } from "../../datagen/tiers.js";
import { COLORS, barChartSvg, columnChartSvg, dotChartSvg, legend, meterSvg, n2, shareStripSvg, type BarRow, type BarSegment, type DotRow, type DotSeries } from "./svg-charts.js";
import { escapeHtml, formatCompact, formatCount, formatPercent, formatScore, formatSeconds, formatUsd, isNum, ratio } from "./format.js";

/** Tier colours (names, order, rules and targets come from datagen/tiers.ts). */
const TIER_COLORS: Record<Tier, string> = {
  frontier: "#6a3d9a",
  advanced_plus: "#b8336a",
  advanced: "#e07b39",
  core: "#d9a521",
  easy: "#7cb46b",
};

// ---------------------------------------------------------------------------------------------------------------
// Sections
// ---------------------------------------------------------------------------------------------------------------

function card(label: string, value: string, sub?: string, title?: string): string {
  return (
    `<div class="card"${title ? ` title="${escapeHtml(title)}"` : ""}>` +
    `<div class="card-label">${escapeHtml(label)}</div>` +
    `<div class="card-value">${escapeHtml(value)}</div>` +
    (sub ? `<div class="card-sub">${escapeHtml(sub)}</div>` : "") +
    "</div>"
  );
}

function renderCards(report: AnalysisReport): string {
  const t = report.totals;
  const tokens = t.promptTokens + t.completionTokens;
  const secSub = isNum(t.meanSecondsPerSpec) && t.meanSecondsPerSpec >= 60 ? `≈ ${(t.meanSecondsPerSpec / 60).toFixed(1)} min per finished spec` : "per finished spec";
  const cards = [
    card("Specs", formatCount(t.specs), "sampled in the manifest"),
    card("Accepted", formatCount(t.accepted), `${formatPercent(ratio(t.accepted, t.specs))} of specs`),
    card("Rejected", formatCount(t.rejected), `${formatPercent(ratio(t.rejected, t.specs))} of specs`),
    card("Pending", formatCount(t.pending), t.pending > 0 ? `${formatPercent(ratio(t.pending, t.specs))} not finished` : "all finished"),
    card("Acceptance rate", formatPercent(t.acceptanceRate), "accepted ÷ finished"),
    card("Total cost", formatUsd(t.costUsd), "USD, all LLM stages"),
    card("Cost per accepted task", formatUsd(t.costPerAcceptedUsd), "USD"),
    card("Tokens", formatCompact(tokens), `${formatCount(t.promptTokens)} prompt · ${formatCount(t.completionTokens)} completion`, `${formatCount(tokens)} tokens`),
    card("Mean time per spec", formatSeconds(t.meanSecondsPerSpec), secSub),
  ];
  const strip = shareStripSvg(
    [
      { name: "accepted", value: t.accepted, color: COLORS.accepted },
      { name: "rejected", value: t.rejected, color: COLORS.rejected },
      { name: "pending", value: t.pending, color: COLORS.unfinished },
    ],
    "Share of specs accepted, rejected and pending",
  );
  return (
    `<section id="overview" class="overview"><div class="cards">${cards.join("")}</div>` +
    `<div class="strip-wrap">${strip}${legend([
      { name: `accepted ${formatCount(t.accepted)}`, color: COLORS.accepted },
      { name: `rejected ${formatCount(t.rejected)}`, color: COLORS.rejected },
      { name: `pending ${formatCount(t.pending)}`, color: COLORS.unfinished },
    ])}</div></section>`
  );
}

function renderStages(report: AnalysisReport): string {
  if (report.stages.length === 0) return "";
  const rows: BarRow[] = report.stages.map((s) => {
    const rate = ratio(s.passed, s.reached);
    return {
      label: s.stage,
      segments: [
        { name: "reached", value: s.reached, color: COLORS.reached, tooltip: `${s.stage} — reached: ${formatCount(s.reached)}` },
        { name: "passed", value: s.passed, color: COLORS.passed, tooltip: `${s.stage} — passed: ${formatCount(s.passed)} of ${formatCount(s.reached)} (${formatPercent(rate)}); dropped ${formatCount(Math.max(0, s.reached - s.passed))}` },
      ],
      valueLabel: `${formatCount(s.passed)} / ${formatCount(s.reached)} · ${formatPercent(rate)}`,
      tooltip: `${s.stage}: ${formatCount(s.passed)} of ${formatCount(s.reached)} passed (${formatPercent(rate)})`,
    };
  });
  const chart = barChartSvg(rows, {
    title: "Specs reaching and passing each pipeline stage",
    mode: "overlay",
    labelWidth: 150,
    valueLabelWidth: 150,
    barHeight: 20,
    gap: 8,
    axisLabel: "specs",
  });
  return (
    '<section id="stages" class="panel"><h2>Stage survival</h2>' +
    '<p class="desc">How many specs reached each stage (light) and how many passed it (dark), in pipeline order.</p>' +
    legend([
      { name: "reached", color: COLORS.reached },
      { name: "passed", color: COLORS.passed },
    ]) +
    `<div class="chart-wrap">${chart}</div></section>`
  );
}

function renderRejections(report: AnalysisReport, limit: number): string {
  if (report.rejections.length === 0) return "";
  const sorted = [...report.rejections].sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
  const total = sorted.reduce((s, r) => s + r.count, 0);
  const shown = sorted.slice(0, limit);
  const rest = sorted.slice(limit);
  const rows: BarRow[] = shown.map((r) => ({
    label: r.reason,
    segments: [{ name: "rejections", value: r.count, color: COLORS.rejection, tooltip: `${r.reason}: ${formatCount(r.count)} (${formatPercent(ratio(r.count, total))} of rejections)` }],
    valueLabel: `${formatCount(r.count)} · ${formatPercent(ratio(r.count, total))}`,
  }));
  if (rest.length > 0) {
    const restCount = rest.reduce((s, r) => s + r.count, 0);
    const label = `+ ${formatCount(rest.length)} more reasons`;
    rows.push({
      label,
      muted: true,
      textOnly: true,
      segments: [{ name: "rejections", value: restCount, color: COLORS.rejection, tooltip: `${label}: ${formatCount(restCount)} rejections` }],
      valueLabel: `${formatCount(restCount)} in total · ${formatPercent(ratio(restCount, total))}`,
      tooltip: `${label}: ${formatCount(restCount)} rejections in total`,
    });
  }
  const chart = barChartSvg(rows, {
    title: "Rejections by reason",
    labelWidth: 190,
    valueLabelWidth: 110,
    barHeight: 18,
    gap: 7,
    axisLabel: "rejected specs",
  });
  return (
    '<section id="rejections" class="panel"><h2>Rejection reasons</h2>' +
    `<p class="desc">${escapeHtml(formatCount(total))} rejections, most frequent first; share of all rejections on the right.</p>` +
    `<div class="chart-wrap">${chart}</div></section>`
  );
}

interface ValueAggregate {
  sampled: number;
  accepted: number;
  rejected: number;
  acceptanceRate: number | null;
  passRate: number | null;
  solved: number;
}

function aggregateValues(values: AxisValueStats[]): ValueAggregate {
  let sampled = 0;
  let accepted = 0;
  let rejected = 0;
  let solved = 0;
  let passWeighted = 0;
  let passWeight = 0;
  for (const v of values) {
    sampled += v.sampled;
    accepted += v.accepted;
    rejected += v.rejected;
    solved += v.solved;
    if (isNum(v.passRate)) {
      const w = v.solved > 0 ? v.solved : 1;
      passWeighted += v.passRate * w;
      passWeight += w;
    }
  }
  return {
    sampled,
    accepted,
    rejected,
    solved,
    acceptanceRate: ratio(accepted, accepted + rejected),
    passRate: passWeight > 0 ? passWeighted / passWeight : null,
  };
}

function valueTooltip(label: string, v: ValueAggregate): string {
  const unfinished = Math.max(0, v.sampled - v.accepted - v.rejected);
  return (
    `${label}\nsampled ${formatCount(v.sampled)} · accepted ${formatCount(v.accepted)} · rejected ${formatCount(v.rejected)}` +
    (unfinished > 0 ? ` · unfinished ${formatCount(unfinished)}` : "") +
    `\nacceptance ${formatPercent(v.acceptanceRate)}` +
    (isNum(v.passRate) ? ` · pass rate ${formatPercent(v.passRate)} (${formatCount(v.solved)} solved)` : "")
  );
}

function countSegments(label: string, v: ValueAggregate): BarSegment[] {
  const unfinished = Math.max(0, v.sampled - v.accepted - v.rejected);
  const share = (n: number) => `${formatCount(n)} of ${formatCount(v.sampled)} sampled (${formatPercent(ratio(n, v.sampled))})`;
  return [
    { name: "accepted", value: v.accepted, color: COLORS.accepted, tooltip: `${label} — accepted: ${share(v.accepted)}` },
    { name: "rejected", value: v.rejected, color: COLORS.rejected, tooltip: `${label} — rejected: ${share(v.rejected)}` },
    { name: "unfinished", value: unfinished, color: COLORS.unfinished, tooltip: `${label} — unfinished: ${share(unfinished)}` },
  ];
}

function slug(text: string): string {
  const s = text.toLowerCase().replace(/[^a-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "");
  return s || "axis";
}

function balanceColor(b: number | null): string {
  if (!isNum(b)) return "#9aa1ab";
  return b >= 0.9 ? "#2a9d70" : b >= 0.7 ? "#d9a521" : "#d9573a";
}

function renderAxis(axis: AxisStats, id: string, limit: number, overallAcceptance: number | null): string {
  const totals = aggregateValues(axis.values);
  const head =
    `<header class="axis-head"><h3>${escapeHtml(axis.axis)}</h3>` +
    `<span class="axis-meta">${escapeHtml(`${formatCount(axis.values.length)} values · ${formatCount(totals.sampled)} sampled · ${formatCount(totals.accepted)} accepted`)}</span>` +
    `<span class="balance" title="${escapeHtml("Balance exp(H)/N of the accepted tasks over this axis's values: 1 = perfectly uniform")}">balance ` +
    meterSvg(axis.balance, balanceColor(axis.balance), `balance ${formatScore(axis.balance)}`) +
    ` <strong>${escapeHtml(formatScore(axis.balance))}</strong></span></header>`;
  if (axis.values.length === 0) {
    return `<article class="axis panel" id="${escapeHtml(id)}">${head}<p class="desc">No values recorded.</p></article>`;
  }

  // Small axes keep the report's order (often a natural one, e.g. task complexity); large ones show the top values.
  const many = axis.values.length > limit;
  const ordered = many ? [...axis.values].sort((a, b) => b.sampled - a.sampled || a.value.localeCompare(b.value)) : axis.values;
  const shown = ordered.slice(0, limit);
  const rest = ordered.slice(limit);
  const restLabel = `+ ${formatCount(rest.length)} more values`;
  const restAgg = rest.length > 0 ? aggregateValues(rest) : null;

  const countRows: BarRow[] = shown.map((v) => ({
    label: v.value,
    segments: countSegments(v.value, v),
    valueLabel: formatCount(v.sampled),
    tooltip: valueTooltip(v.value, v),
  }));
  if (restAgg) {
    countRows.push({
      label: restLabel,
      muted: true,
      textOnly: true,
      segments: countSegments(restLabel, restAgg),
      valueLabel: `${formatCount(restAgg.sampled)} sampled · ${formatCount(restAgg.accepted)} accepted · ${formatCount(restAgg.rejected)} rejected`,
      tooltip: valueTooltip(restLabel, restAgg),
    });
  }
  const countChart = barChartSvg(countRows, {
    title: `Sampled specs per ${axis.axis} value`,
    valueLabelWidth: 64,
    axisLabel: "specs sampled",
  });

  const hasPass = axis.values.some((v) => isNum(v.passRate));
  const series: DotSeries[] = [{ name: "accept", color: COLORS.acceptance, shape: "circle" }];
  if (hasPass) series.push({ name: "pass", color: COLORS.pass, shape: "diamond" });
  const dotRows: DotRow[] = shown.map((v) => ({
    label: v.value,
    values: hasPass ? [v.acceptanceRate, v.passRate] : [v.acceptanceRate],
    tooltip: valueTooltip(v.value, v),
  }));
  if (restAgg) {
    dotRows.push({ label: restLabel, muted: true, values: hasPass ? [restAgg.acceptanceRate, restAgg.passRate] : [restAgg.acceptanceRate], tooltip: valueTooltip(restLabel, restAgg) });
  }
  const rateChart = dotChartSvg(dotRows, series, {
    title: `Acceptance${hasPass ? " and pass" : ""} rate per ${axis.axis} value`,
    axisLabel: hasPass ? "acceptance rate · mean pass@1" : "acceptance rate",
    reference: isNum(overallAcceptance) ? { value: overallAcceptance, label: `overall acceptance rate ${formatPercent(overallAcceptance)}` } : undefined,
  });

  const rateLegend: { name: string; color: string; shape?: "circle" | "diamond" | "line" }[] = [{ name: "acceptance rate", color: COLORS.acceptance, shape: "circle" }];
  if (hasPass) rateLegend.push({ name: "pass rate (mean pass@1 of solved)", color: COLORS.pass, shape: "diamond" });
  if (isNum(overallAcceptance)) rateLegend.push({ name: `overall acceptance ${formatPercent(overallAcceptance)}`, color: COLORS.reference, shape: "line" });

  const note = restAgg
    ? `<p class="note">Showing the top ${formatCount(shown.length)} of ${formatCount(axis.values.length)} values by sampled count; ${escapeHtml(formatCount(rest.length))} more values (${escapeHtml(formatCount(restAgg.sampled))} sampled, ${escapeHtml(formatCount(restAgg.accepted))} accepted) are summarised in the last row (totals, not drawn to scale).</p>`
    : "";

  return (
    `<article class="axis panel" id="${escapeHtml(id)}">${head}<div class="multiples">` +
    `<figure><figcaption>Sampled specs per value</figcaption>${legend([
      { name: "accepted", color: COLORS.accepted },
      { name: "rejected", color: COLORS.rejected },
      { name: "unfinished", color: COLORS.unfinished },
    ])}<div class="chart-wrap">${countChart}</div></figure>` +
    `<figure><figcaption>${hasPass ? "Acceptance and pass rate per value" : "Acceptance rate per value"}</figcaption>${legend(rateLegend)}<div class="chart-wrap">${rateChart}</div></figure>` +
    `</div>${note}</article>`
  );
}

/** Unique element ids for the axes, in order: "axis-<slug>", with "-2", "-3"… on collisions. */
function axisIds(axes: AxisStats[]): string[] {
  const used = new Set<string>();
  return axes.map((axis) => {
    let id = `axis-${slug(axis.axis)}`;
    for (let i = 2; used.has(id); i++) id = `axis-${slug(axis.axis)}-${i}`;
    used.add(id);
    return id;
  });
}

function renderAxes(report: AnalysisReport, ids: string[], limit: number): string {
  if (report.axes.length === 0) return "";
  const articles = report.axes.map((axis, i) => renderAxis(axis, ids[i] ?? `axis-${i}`, limit, report.totals.acceptanceRate));
  return (
    '<section id="axes"><h2>Axes</h2>' +
    '<p class="desc">For every sampled axis: how often each value was drawn and how it fared (left), and the acceptance and pass rate per value (right). Hover over bars, dots and labels for exact numbers.</p>' +
    articles.join("") +
    "</section>"
  );
}

function renderTiers(report: AnalysisReport): string {
  if (report.tiers.length === 0) return "";
  const tiers = report.tiers.map((t, i) => ({ ...t, i })).sort((a, b) => tierRank(a.tier) - tierRank(b.tier) || a.i - b.i);
  const total = tiers.reduce((s, t) => s + t.count, 0);
  const worthy = tiers.filter((t) => isBenchmarkWorthy(t.tier)).reduce((s, t) => s + t.count, 0);
  const chart = columnChartSvg(
    tiers.map((t) => {
      const def = tierDefinition(t.tier);
      const share = formatPercent(ratio(t.count, total));
      return {
        label: t.tier,
        value: t.count,
        color: def ? TIER_COLORS[def.tier] : COLORS.neutral,
        valueLabel: `${formatCount(t.count)} · ${share}`,
        tooltip: `${t.tier}: ${formatCount(t.count)} tasks (${share})${def ? ` — ${tierRule(def)}; ${tierTarget(def)}` : ""}`,
      };
    }),
    { title: "Accepted, solved tasks per difficulty tier", axisLabel: "tasks" },
  );
  return (
    '<section id="tiers" class="panel"><h2>Difficulty tiers</h2>' +
    `<p class="desc">${escapeHtml(formatCount(total))} solved tasks; benchmark-worthy (every tier but easy): <strong>${escapeHtml(formatPercent(ratio(worthy, total)))}</strong>.</p>` +
    `<div class="chart-wrap">${chart}</div></section>`
  );
}

function renderPassAtK(report: AnalysisReport): string {
  const entries = Object.entries(report.passAtK).filter(([, v]) => isNum(v));
  if (entries.length === 0) return "";
  entries.sort(([a], [b]) => {
    const na = Number(a);
    const nb = Number(b);
    if (Number.isFinite(na) && Number.isFinite(nb)) return na - nb;
    if (Number.isFinite(na)) return -1;
    if (Number.isFinite(nb)) return 1;
    return a.localeCompare(b);
  });
  const chart = columnChartSvg(
    entries.map(([k, v]) => ({ label: `pass@${k}`, value: v, color: COLORS.pass, valueLabel: formatPercent(v), tooltip: `pass@${k}: ${formatPercent(v)}` })),
    { title: "pass@k over solved tasks", max: 1, formatValue: formatPercent, formatTick: (t) => `${Math.round(t * 100)}%`, axisLabel: "pass@k" },
  );
  const rows = entries.map(([k, v]) => `<tr><td>pass@${escapeHtml(k)}</td><td class="num">${escapeHtml(formatPercent(v))}</td></tr>`).join("");
  return (
    '<section id="passk" class="panel"><h2>pass@k</h2>' +
    '<p class="desc">Unbiased pass@k over the solved tasks (mean over tasks of 1 − C(n−c,k)/C(n,k)).</p>' +
    `<div class="chart-wrap">${chart}</div>` +
    `<table class="data narrow"><thead><tr><th>k</th><th class="num">pass@k</th></tr></thead><tbody>${rows}</tbody></table></section>`
  );
}

function renderGenerators(report: AnalysisReport): string {
  if (report.generators.length === 0) return "";
  const gens = [...report.generators].sort((a, b) => b.accepted - a.accepted || a.model.localeCompare(b.model));
  const total = gens.reduce((s, g) => s + g.accepted, 0);
  const rows = gens
    .map((g) => {
      const share = ratio(g.accepted, total);
      const pct = isNum(share) ? Math.max(0, Math.min(100, share * 100)) : 0;
      return (
        `<tr><td class="model">${escapeHtml(g.model)}</td><td class="num">${escapeHtml(formatCount(g.accepted))}</td>` +
        `<td class="num">${escapeHtml(formatPercent(share))}</td>` +
        `<td class="bar-cell"><div class="cell-bar"><div style="width:${n2(pct)}%"></div></div></td></tr>`
      );
    })
    .join("");
  return (
    '<section id="generators" class="panel"><h2>Generator models</h2>' +
    `<table class="data"><thead><tr><th>Model</th><th class="num">Accepted tasks</th><th class="num">Share</th><th class="bar-cell"></th></tr></thead><tbody>${rows}</tbody></table></section>`
  );
}

const CSS = `
:root { --text:#1f2933; --muted:#6b7280; --line:#e3e6ea; --bg:#f5f6f8; --panel:#fff; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--text);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1320px; margin: 0 auto; padding: 20px 24px 40px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 0 0 4px; }
h3 { font-size: 16px; margin: 0; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.page-head { margin-bottom: 14px; }
.page-head .meta { color: var(--muted); display: flex; flex-wrap: wrap; gap: 4px 18px; }
.page-head code { color: var(--text); background: #e9ecf0; padding: 1px 6px; border-radius: 4px; word-break: break-all; }
nav.toc { display: flex; flex-wrap: wrap; gap: 6px 14px; margin: 10px 0 16px; font-size: 13px; }
nav.toc a { color: #2f6fad; text-decoration: none; }
nav.toc a:hover { text-decoration: underline; }
nav.toc a.sub { color: var(--muted); font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(165px, 1fr)); gap: 10px; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
.card-label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card-value { font-size: 24px; font-weight: 650; font-variant-numeric: tabular-nums; margin: 2px 0; white-space: nowrap; }
.card-sub { color: var(--muted); font-size: 12px; }
.strip-wrap { margin: 12px 0 4px; }
svg.strip { display: block; width: 100%; height: 14px; border-radius: 7px; overflow: hidden; }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px; margin: 16px 0; min-width: 0; }
.grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(480px, 1fr)); gap: 0 16px; }
#axes { margin-top: 26px; }
.desc, .note { color: var(--muted); margin: 2px 0 8px; font-size: 13px; }
.note { margin-top: 8px; font-style: italic; }
.axis-head { display: flex; flex-wrap: wrap; align-items: baseline; gap: 4px 16px; margin-bottom: 6px; }
.axis-meta { color: var(--muted); font-size: 13px; }
.balance { margin-left: auto; font-size: 13px; color: var(--muted); white-space: nowrap; }
.balance strong { color: var(--text); font-variant-numeric: tabular-nums; }
svg.meter { vertical-align: middle; }
.multiples { display: grid; grid-template-columns: repeat(auto-fit, minmax(460px, 1fr)); gap: 8px 24px; }
figure { margin: 0; min-width: 0; }
figcaption { font-weight: 600; font-size: 13px; margin: 4px 0 2px; }
.legend { display: flex; flex-wrap: wrap; gap: 2px 14px; font-size: 12px; color: var(--muted); margin: 2px 0 4px; }
.key { display: inline-flex; align-items: center; gap: 5px; }
.sw { display: inline-block; width: 11px; height: 11px; border-radius: 2px; }
.sw-circle { border-radius: 50%; }
.sw-diamond { transform: rotate(45deg) scale(.85); }
.sw-line { height: 0; width: 14px; border-top: 2px dashed #6b7280; background: none !important; border-radius: 0; }
.chart-wrap { overflow-x: auto; }
svg.chart { display: block; width: 100%; height: auto; }
svg.chart text { font-size: 12px; fill: var(--text); }
svg.chart .tick { font-size: 11px; fill: var(--muted); font-variant-numeric: tabular-nums; }
svg.chart .axis-label { font-size: 11px; fill: var(--muted); }
svg.chart .value { font-size: 11px; font-variant-numeric: tabular-nums; }
svg.chart .col-head { font-size: 11px; font-weight: 600; }
svg.chart .muted { fill: var(--muted); font-style: italic; }
svg.chart .grid { stroke: #eceef1; stroke-width: 1; }
svg.chart .axis-line { stroke: #9aa1ab; stroke-width: 1; }
svg.chart .track { stroke: #e6e8ec; stroke-width: 1; }
svg.chart .ref-line { stroke: #6b7280; stroke-width: 1.5; stroke-dasharray: 4 3; }
svg.chart .muted-seg { opacity: .55; }
svg.chart .seg:hover, svg.chart .dot:hover { opacity: .75; }
table.data { border-collapse: collapse; width: 100%; font-size: 13px; }
table.data.narrow { width: auto; min-width: 220px; margin-top: 8px; }
table.data th, table.data td { padding: 5px 10px; border-bottom: 1px solid var(--line); text-align: left; }
table.data th { color: var(--muted); font-weight: 600; font-size: 12px; }
table.data .num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.data .model { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; word-break: break-all; }
.bar-cell { width: 35%; }
.cell-bar { background: #eef0f3; border-radius: 3px; height: 10px; overflow: hidden; }
.cell-bar > div { background: #5b7db1; height: 100%; }
footer { color: var(--muted); font-size: 12px; margin-top: 24px; }
@media (max-width: 900px) { main { padding: 14px; } .grid2, .multiples { grid-template-columns: minmax(0, 1fr); } }
@media print { body { background: #fff; } .panel { break-inside: avoid; } }
`;

export interface ReportHtmlOptions {
  /** Page title; defaults to "tmax corpus analysis". */
  title?: string;
  /** Values per axis (and rejection reasons) drawn individually before the rest is summarised; default 25. */
  maxValuesPerAxis?: number;
}

/** Renders the analysis report as one self-contained HTML document (inline CSS and SVG, no scripts or URLs). */
export function renderReportHtml(report: AnalysisReport, options: ReportHtmlOptions = {}): string {
  const title = options.title ?? "tmax corpus analysis";
  const limit = Math.max(1, Math.floor(options.maxValuesPerAxis ?? 25));

  const stages = renderStages(report);
  const rejections = renderRejections(report, limit);
  const ids = axisIds(report.axes);
  const axes = renderAxes(report, ids, limit);
  const tiers = renderTiers(report);
  const passAtK = renderPassAtK(report);
  const generators = renderGenerators(report);

  const toc: [string, string, string][] = [
    ["overview", "Overview", "x"],
    ["stages", "Stage survival", stages],
    ["rejections", "Rejection reasons", rejections],
    ["axes", "Axes", axes],
    ["tiers", "Difficulty tiers", tiers],
    ["passk", "pass@k", passAtK],
    ["generators", "Generator models", generators],
  ];
  const nav = toc
    .filter(([, , html]) => html !== "")
    .map(([id, label]) => `<a href="#${id}">${escapeHtml(label)}</a>`)
    .concat(
      report.axes.length > 0 && report.axes.length <= 16
        ? report.axes.map((a, i) => `<a class="sub" href="#${escapeHtml(ids[i] ?? "axes")}">${escapeHtml(a.axis)}</a>`)
        : [],
    )
    .join("");

  const pair = (a: string, b: string) => (a && b ? `<div class="grid2">${a}${b}</div>` : a + b);

  return [
    "<!DOCTYPE html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    `<title>${escapeHtml(`${title} — ${report.corpusDir}`)}</title>`,
    `<style>${CSS}</style>`,
    "</head>",
    "<body><main>",
    `<header class="page-head"><h1>${escapeHtml(title)}</h1><div class="meta">` +
      `<span>Corpus <code>${escapeHtml(report.corpusDir)}</code></span>` +
      `<span>Generated <time>${escapeHtml(report.generatedAt)}</time></span></div></header>`,
    `<nav class="toc">${nav}</nav>`,
    renderCards(report),
    pair(stages, rejections),
    axes,
    pair(tiers, passAtK),
    generators,
    `<footer>Generated by tmax gen analyze · ${escapeHtml(formatCount(report.totals.specs))} specs · ${escapeHtml(report.generatedAt)}</footer>`,
    "</main></body>",
    "</html>",
    "",
  ].join("\n");
}

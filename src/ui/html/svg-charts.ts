/**
 * Inline SVG charts for tmax's self-contained HTML reports (no scripts, no external resources): horizontal bar
 * charts, dot charts of rates, column charts, share strips, meters and legends. Every label is escaped.
 */
import { escapeHtml, formatCount, formatPercent, isNum } from "./format.js";

export const COLORS = {
  accepted: "#2a9d70",
  rejected: "#e0663a",
  unfinished: "#c9ced6",
  reached: "#c5d9ee",
  passed: "#2f6fad",
  rejection: "#d9573a",
  acceptance: "#2f6fad",
  pass: "#8e44ad",
  reference: "#6b7280",
  neutral: "#5b7db1",
} as const;

type Attrs = Record<string, string | number | undefined>;

export function n2(v: number): string {
  return Number.isFinite(v) ? String(Math.round(v * 100) / 100) : "0";
}

function attrs(a: Attrs): string {
  let out = "";
  for (const [key, value] of Object.entries(a)) {
    if (value === undefined) continue;
    out += ` ${key}="${typeof value === "number" ? n2(value) : escapeHtml(value)}"`;
  }
  return out;
}

function el(name: string, a: Attrs, inner?: string): string {
  return inner === undefined ? `<${name}${attrs(a)}/>` : `<${name}${attrs(a)}>${inner}</${name}>`;
}

function tip(text: string | undefined): string {
  return text ? `<title>${escapeHtml(text)}</title>` : "";
}

function svgText(x: number, y: number, text: string, opts: { anchor?: "start" | "middle" | "end"; cls?: string; title?: string; fill?: string } = {}): string {
  return el(
    "text",
    { x, y, dy: "0.35em", "text-anchor": opts.anchor ?? "start", class: opts.cls, fill: opts.fill },
    tip(opts.title) + escapeHtml(text),
  );
}

/** Truncates `text` with an ellipsis so that it fits roughly `maxPx` pixels at `fontPx` (sans-serif estimate). */
function fitText(text: string, maxPx: number, fontPx = 12): string {
  const chars = Array.from(text);
  const maxChars = Math.max(3, Math.floor(maxPx / (fontPx * 0.56)));
  return chars.length <= maxChars ? text : `${chars.slice(0, maxChars - 1).join("")}…`;
}

/** Rounded-up axis maximum and evenly spaced "nice" ticks from 0 (steps of 1, 2, 2.5 or 5 × 10^k). */
export function niceTicks(dataMax: number, target = 5, integer = false): { max: number; ticks: number[] } {
  if (!(dataMax > 0) || !Number.isFinite(dataMax)) return { max: 1, ticks: [0, 1] };
  const raw = dataMax / Math.max(1, target);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  let step = (norm < 1.5 ? 1 : norm < 2.25 ? 2 : norm < 3.5 ? 2.5 : norm < 7.5 ? 5 : 10) * mag;
  if (integer && !Number.isInteger(step)) step = Math.ceil(step);
  const count = Math.max(1, Math.ceil(dataMax / step - 1e-9));
  const ticks: number[] = [];
  for (let i = 0; i <= count; i++) ticks.push(Math.round(i * step * 1e9) / 1e9);
  return { max: count * step, ticks };
}

function svgOpen(width: number, height: number, label: string, cls = "chart"): string {
  return `<svg class="${cls}" role="img" aria-label="${escapeHtml(label)}" viewBox="0 0 ${n2(width)} ${n2(height)}" width="${n2(width)}" height="${n2(height)}" style="max-width:${n2(width)}px">`;
}

// --- horizontal bars --------------------------------------------------------------------------------------------

export interface BarSegment {
  name: string;
  value: number;
  color: string;
  /** Tooltip for this segment; defaults to "label — name: value". */
  tooltip?: string;
}

export interface BarRow {
  label: string;
  segments: BarSegment[];
  /** Text right of the bar; defaults to the formatted total. */
  valueLabel?: string;
  /** Tooltip of the row label; defaults to the label itself. */
  tooltip?: string;
  /** Draw de-emphasised (e.g. an "N more values" summary row). */
  muted?: boolean;
  /**
   * A text-only row (no bar, not part of the scale), e.g. the sum over many summarised values, which would otherwise
   * dwarf every other bar; its value label starts at the zero line.
   */
  textOnly?: boolean;
}

export interface BarChartOptions {
  /** Accessible name of the chart. */
  title: string;
  width?: number;
  labelWidth?: number;
  valueLabelWidth?: number;
  barHeight?: number;
  gap?: number;
  /** "stack": segments end to end; "overlay": every segment starts at 0, drawn in order (largest first). */
  mode?: "stack" | "overlay";
  /** Fixed scale maximum; otherwise a nice value above the largest bar. */
  max?: number;
  integer?: boolean;
  formatValue?: (v: number) => string;
  formatTick?: (v: number) => string;
  axisLabel?: string;
  /** A dashed vertical reference line. */
  reference?: { value: number; label: string };
}

/** A horizontal (stacked or overlaid) bar chart with x-axis ticks, gridlines, value labels and tooltips. */
export function barChartSvg(rows: BarRow[], opts: BarChartOptions): string {
  const width = opts.width ?? 560;
  const labelWidth = opts.labelWidth ?? 170;
  const valueWidth = opts.valueLabelWidth ?? 80;
  const barHeight = opts.barHeight ?? 16;
  const gap = opts.gap ?? 6;
  const mode = opts.mode ?? "stack";
  const formatValue = opts.formatValue ?? formatCount;
  const formatTick = opts.formatTick ?? formatValue;
  const padTop = 6;
  const axisHeight = opts.axisLabel ? 42 : 26;
  const plotX = labelWidth + 10;
  const plotW = Math.max(40, width - plotX - valueWidth);
  const pitch = barHeight + gap;
  const plotH = Math.max(1, rows.length) * pitch;
  const height = padTop + plotH + axisHeight;

  const totals = rows.map((r) =>
    r.textOnly
      ? 0
      : mode === "stack"
      ? r.segments.reduce((s, seg) => s + Math.max(0, seg.value), 0)
      : r.segments.reduce((m, seg) => Math.max(m, seg.value), 0),
  );
  const dataMax = Math.max(0, ...totals, opts.reference?.value ?? 0);
  const scale = opts.max !== undefined ? niceTicks(opts.max, 4, opts.integer) : niceTicks(dataMax, 5, opts.integer ?? true);
  const x = (v: number) => plotX + (scale.max > 0 ? (Math.max(0, v) / scale.max) * plotW : 0);

  const parts: string[] = [svgOpen(width, height, opts.title)];
  // Gridlines and tick labels.
  for (const t of scale.ticks) {
    const tx = x(t);
    parts.push(el("line", { x1: tx, x2: tx, y1: padTop, y2: padTop + plotH, class: t === 0 ? "axis-line" : "grid" }));
    parts.push(svgText(tx, padTop + plotH + 11, formatTick(t), { anchor: "middle", cls: "tick" }));
  }
  if (opts.axisLabel) parts.push(svgText(plotX + plotW / 2, padTop + plotH + 32, opts.axisLabel, { anchor: "middle", cls: "axis-label" }));

  rows.forEach((row, i) => {
    const y = padTop + i * pitch + gap / 2;
    const cy = y + barHeight / 2;
    const g: string[] = [];
    g.push(svgText(labelWidth, cy, fitText(row.label, labelWidth), { anchor: "end", cls: row.muted ? "label muted" : "label", title: row.tooltip ?? row.label }));
    let cursor = 0;
    for (const seg of row.textOnly ? [] : row.segments) {
      const value = Math.max(0, seg.value);
      if (value <= 0) continue;
      const start = mode === "stack" ? cursor : 0;
      const x0 = x(start);
      const w = Math.max(1, x(start + value) - x0);
      g.push(
        el(
          "rect",
          { x: x0, y, width: w, height: barHeight, rx: mode === "overlay" ? 2 : 0, fill: seg.color, class: row.muted ? "seg muted-seg" : "seg" },
          tip(seg.tooltip ?? `${row.label} — ${seg.name}: ${formatValue(seg.value)}`),
        ),
      );
      if (mode === "stack") cursor += value;
    }
    const total = totals[i] ?? 0;
    const textOnlyTotal = row.segments.reduce((s, seg) => s + Math.max(0, seg.value), 0);
    g.push(
      row.textOnly
        ? svgText(x(0) + 5, cy, row.valueLabel ?? formatValue(textOnlyTotal), { cls: "value muted", title: row.tooltip ?? row.label })
        : svgText(x(total) + 5, cy, row.valueLabel ?? formatValue(total), { cls: row.muted ? "value muted" : "value" }),
    );
    parts.push(`<g>${g.join("")}</g>`);
  });

  if (opts.reference && isNum(opts.reference.value)) {
    const rx = x(opts.reference.value);
    parts.push(
      el("line", { x1: rx, x2: rx, y1: padTop - 2, y2: padTop + plotH, class: "ref-line" }, tip(opts.reference.label)),
    );
  }
  parts.push("</svg>");
  return parts.join("");
}

// --- dot column (rates on a 0–100% scale) ----------------------------------------------------------------------

export interface DotSeries {
  name: string;
  color: string;
  shape: "circle" | "diamond";
}

export interface DotRow {
  label: string;
  /** One value in [0, 1] (or null) per series. */
  values: (number | null)[];
  tooltip?: string;
  muted?: boolean;
}

export interface DotChartOptions {
  title: string;
  width?: number;
  labelWidth?: number;
  barHeight?: number;
  gap?: number;
  axisLabel?: string;
  reference?: { value: number; label: string };
}

/** Rates per row as dots on a shared 0–100% axis, with the exact values in one right-hand column per series. */
export function dotChartSvg(rows: DotRow[], series: DotSeries[], opts: DotChartOptions): string {
  const width = opts.width ?? 560;
  const labelWidth = opts.labelWidth ?? 170;
  const barHeight = opts.barHeight ?? 16;
  const gap = opts.gap ?? 6;
  const columnWidth = 54;
  const padTop = 20;
  const axisHeight = opts.axisLabel ? 42 : 26;
  const plotX = labelWidth + 16;
  const plotW = Math.max(60, width - plotX - 14 - series.length * columnWidth);
  const pitch = barHeight + gap;
  const plotH = Math.max(1, rows.length) * pitch;
  const height = padTop + plotH + axisHeight;
  const x = (v: number) => plotX + Math.min(1, Math.max(0, v)) * plotW;
  const colX = (s: number) => plotX + plotW + 14 + s * columnWidth + columnWidth - 4;

  const parts: string[] = [svgOpen(width, height, opts.title)];
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    const tx = x(t);
    parts.push(el("line", { x1: tx, x2: tx, y1: padTop, y2: padTop + plotH, class: t === 0 ? "axis-line" : "grid" }));
    parts.push(svgText(tx, padTop + plotH + 11, `${Math.round(t * 100)}%`, { anchor: "middle", cls: "tick" }));
  }
  if (opts.axisLabel) parts.push(svgText(plotX + plotW / 2, padTop + plotH + 32, opts.axisLabel, { anchor: "middle", cls: "axis-label" }));
  series.forEach((s, si) => parts.push(svgText(colX(si), padTop - 10, s.name, { anchor: "end", cls: "col-head", fill: s.color })));

  rows.forEach((row, i) => {
    const cy = padTop + i * pitch + gap / 2 + barHeight / 2;
    const g: string[] = [];
    g.push(svgText(labelWidth, cy, fitText(row.label, labelWidth), { anchor: "end", cls: row.muted ? "label muted" : "label", title: row.tooltip ?? row.label }));
    g.push(el("line", { x1: x(0), x2: x(1), y1: cy, y2: cy, class: "track" }));
    series.forEach((s, si) => {
      const v = row.values[si] ?? null;
      const text = formatPercent(v);
      if (isNum(v)) {
        const px = x(v);
        const title = tip(`${row.label} — ${s.name}: ${text}`);
        const cls = row.muted ? "dot muted-seg" : "dot";
        g.push(
          s.shape === "circle"
            ? el("circle", { cx: px, cy, r: 5, fill: s.color, class: cls }, title)
            : el("path", { d: `M${n2(px)} ${n2(cy - 6)}L${n2(px + 6)} ${n2(cy)}L${n2(px)} ${n2(cy + 6)}L${n2(px - 6)} ${n2(cy)}Z`, fill: s.color, class: cls }, title),
        );
      }
      g.push(svgText(colX(si), cy, text, { anchor: "end", cls: row.muted ? "value muted" : "value", fill: isNum(v) ? s.color : undefined }));
    });
    parts.push(`<g>${g.join("")}</g>`);
  });

  if (opts.reference && isNum(opts.reference.value)) {
    const rx = x(opts.reference.value);
    parts.push(el("line", { x1: rx, x2: rx, y1: padTop - 2, y2: padTop + plotH, class: "ref-line" }, tip(opts.reference.label)));
  }
  parts.push("</svg>");
  return parts.join("");
}

// --- vertical columns ------------------------------------------------------------------------------------------

export interface ColumnDatum {
  label: string;
  value: number;
  color: string;
  valueLabel?: string;
  tooltip?: string;
}

export interface ColumnChartOptions {
  title: string;
  width?: number;
  height?: number;
  max?: number;
  integer?: boolean;
  formatValue?: (v: number) => string;
  formatTick?: (v: number) => string;
  axisLabel?: string;
}

/** A vertical column chart with a y axis, gridlines, value labels above columns and category labels below. */
export function columnChartSvg(columns: ColumnDatum[], opts: ColumnChartOptions): string {
  const width = opts.width ?? 560;
  const height = opts.height ?? 250;
  const formatValue = opts.formatValue ?? formatCount;
  const formatTick = opts.formatTick ?? formatValue;
  const padLeft = opts.axisLabel ? 66 : 50;
  const padRight = 10;
  const padTop = 22;
  const padBottom = 30;
  const plotW = width - padLeft - padRight;
  const plotH = height - padTop - padBottom;
  const dataMax = Math.max(0, ...columns.map((c) => c.value));
  const scale = opts.max !== undefined ? niceTicks(opts.max, 4, opts.integer) : niceTicks(dataMax, 5, opts.integer ?? true);
  const y = (v: number) => padTop + plotH - (scale.max > 0 ? (Math.max(0, v) / scale.max) * plotH : 0);
  const slot = plotW / Math.max(1, columns.length);
  const barW = Math.min(72, slot * 0.62);

  const parts: string[] = [svgOpen(width, height, opts.title)];
  for (const t of scale.ticks) {
    const ty = y(t);
    parts.push(el("line", { x1: padLeft, x2: padLeft + plotW, y1: ty, y2: ty, class: t === 0 ? "axis-line" : "grid" }));
    parts.push(svgText(padLeft - 6, ty, formatTick(t), { anchor: "end", cls: "tick" }));
  }
  if (opts.axisLabel) {
    const cx = 12;
    const cy = padTop + plotH / 2;
    parts.push(el("text", { x: cx, y: cy, dy: "0.35em", "text-anchor": "middle", class: "axis-label", transform: `rotate(-90 ${n2(cx)} ${n2(cy)})` }, escapeHtml(opts.axisLabel)));
  }
  columns.forEach((c, i) => {
    const cx = padLeft + slot * i + slot / 2;
    const top = y(c.value);
    const h = Math.max(c.value > 0 ? 1 : 0, padTop + plotH - top);
    parts.push(
      "<g>" +
        el("rect", { x: cx - barW / 2, y: padTop + plotH - h, width: barW, height: h, rx: 2, fill: c.color, class: "seg" }, tip(c.tooltip ?? `${c.label}: ${formatValue(c.value)}`)) +
        svgText(cx, padTop + plotH - h - 9, c.valueLabel ?? formatValue(c.value), { anchor: "middle", cls: "value" }) +
        svgText(cx, padTop + plotH + 13, fitText(c.label, slot - 4, 12), { anchor: "middle", cls: "label", title: c.label }) +
        "</g>",
    );
  });
  parts.push("</svg>");
  return parts.join("");
}

// --- 100% strip and meter --------------------------------------------------------------------------------------

/** A single 100%-stacked strip (e.g. accepted / rejected / pending share of all specs). */
export function shareStripSvg(parts: { name: string; value: number; color: string }[], title: string, width = 600, height = 14): string {
  const total = parts.reduce((s, p) => s + Math.max(0, p.value), 0);
  const out: string[] = [`<svg class="strip" role="img" aria-label="${escapeHtml(title)}" viewBox="0 0 ${width} ${height}" preserveAspectRatio="none" width="${width}" height="${height}">`];
  let cursor = 0;
  if (total > 0) {
    for (const p of parts) {
      const v = Math.max(0, p.value);
      if (v <= 0) continue;
      const w = (v / total) * width;
      out.push(el("rect", { x: cursor, y: 0, width: w, height, fill: p.color }, tip(`${p.name}: ${formatCount(v)} (${formatPercent(v / total)})`)));
      cursor += w;
    }
  } else {
    out.push(el("rect", { x: 0, y: 0, width, height, fill: COLORS.unfinished }));
  }
  out.push("</svg>");
  return out.join("");
}

export function meterSvg(value: number | null, color: string, title: string): string {
  const w = 84;
  const h = 8;
  const fill = isNum(value) ? Math.min(1, Math.max(0, value)) * w : 0;
  return (
    `<svg class="meter" role="img" aria-label="${escapeHtml(title)}" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}">` +
    tip(title) +
    el("rect", { x: 0, y: 0, width: w, height: h, rx: 4, fill: "#e6e8ec" }) +
    (fill > 0 ? el("rect", { x: 0, y: 0, width: fill, height: h, rx: 4, fill: color }) : "") +
    "</svg>"
  );
}

export function legend(items: { name: string; color: string; shape?: "square" | "circle" | "diamond" | "line" }[]): string {
  return (
    '<div class="legend">' +
    items
      .map((it) => {
        const shape = it.shape ?? "square";
        return `<span class="key"><span class="sw sw-${shape}" style="background:${escapeHtml(it.color)}"></span>${escapeHtml(it.name)}</span>`;
      })
      .join("") +
    "</div>"
  );
}

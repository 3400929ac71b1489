import { escapeHtml } from "./format.js";
import { n2, niceTicks } from "./svg-charts.js";

/** A small inline SVG line chart (no scripts): one or more series over a shared x axis; null values leave gaps. */

export interface LineSeries {
  name: string;
  color: string;
  values: (number | null)[];
  /** Draw the line across null values (a sparse series, e.g. one value per pass); by default they leave gaps. */
  connect?: boolean;
}

export interface LineChartOptions {
  title: string;
  xs: number[];
  width?: number;
  height?: number;
  /** Fix the y range to [0, 1] (rates, rewards). */
  unitRange?: boolean;
}

const LEGEND_ROW = 14;
/** Width of a legend entry at font-size 11: the bullet, the name at ~6.5 px a character, and a gap. */
const legendEntryWidth = (name: string): number => 16 + Math.ceil(name.length * 6.5) + 14;

/** Where each legend entry goes: left to right, wrapping to a new row where the next would pass the chart's edge. */
export function legendLayout(names: string[], left: number, maxX: number): { x: number; row: number }[] {
  let x = left;
  let row = 0;
  return names.map((name) => {
    const w = legendEntryWidth(name);
    if (x > left && x + w - 14 > maxX) {
      x = left;
      row++;
    }
    const at = { x, row };
    x += w;
    return at;
  });
}

export function lineChartSvg(series: LineSeries[], opts: LineChartOptions): string {
  const width = opts.width ?? 420;
  const left = 44;
  const right = 10;
  const placed = legendLayout(
    series.map((s) => s.name),
    left,
    width - right,
  );
  const extraRows = Math.max(0, ...placed.map((p) => p.row));
  const height = (opts.height ?? 180) + extraRows * LEGEND_ROW;
  const top = 26 + extraRows * LEGEND_ROW;
  const bottom = 26;
  const values = series.flatMap((s) => s.values.filter((v): v is number => v !== null && Number.isFinite(v)));
  const minX = opts.xs.length ? Math.min(...opts.xs) : 0;
  const maxX = opts.xs.length ? Math.max(...opts.xs) : 1;
  const lo = opts.unitRange ? 0 : Math.min(0, ...values);
  const { max: hi, ticks } = opts.unitRange ? { max: 1, ticks: [0, 0.25, 0.5, 0.75, 1] } : niceTicks(Math.max(...values, 0));
  const x = (v: number): number => left + ((v - minX) / Math.max(1e-9, maxX - minX)) * (width - left - right);
  const y = (v: number): number => top + (1 - (v - lo) / Math.max(1e-9, hi - lo)) * (height - top - bottom);
  const grid = ticks
    .map((t) => `<line x1="${left}" x2="${width - right}" y1="${n2(y(t))}" y2="${n2(y(t))}" stroke="#e5e7eb"/><text x="${left - 6}" y="${n2(y(t))}" dy="0.35em" text-anchor="end" font-size="10" fill="#6b7280">${escapeHtml(String(t))}</text>`)
    .join("");
  const lines = series
    .map((s) => {
      const parts: string[] = [];
      let open = false;
      s.values.forEach((v, i) => {
        if (v === null || !Number.isFinite(v)) {
          open &&= s.connect === true;
          return;
        }
        parts.push(`${open ? "L" : "M"}${n2(x(opts.xs[i]!))},${n2(y(v))}`);
        open = true;
      });
      const dots = s.values.length <= 60 ? s.values.map((v, i) => (v === null ? "" : `<circle cx="${n2(x(opts.xs[i]!))}" cy="${n2(y(v))}" r="2" fill="${s.color}"><title>${escapeHtml(`${s.name} at step ${opts.xs[i]}: ${n2(v)}`)}</title></circle>`)).join("") : "";
      return `<path d="${parts.join("")}" fill="none" stroke="${s.color}" stroke-width="1.5"/>${dots}`;
    })
    .join("");
  const legend = series.map((s, i) => `<text x="${placed[i]!.x}" y="${12 + placed[i]!.row * LEGEND_ROW}" font-size="11" fill="${s.color}">● ${escapeHtml(s.name)}</text>`).join("");
  const xLabels = `<text x="${left}" y="${height - 8}" font-size="10" fill="#6b7280">step ${minX}</text><text x="${width - right}" y="${height - 8}" font-size="10" fill="#6b7280" text-anchor="end">${maxX}</text>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(opts.title)}"><title>${escapeHtml(opts.title)}</title>${grid}${lines}${legend}${xLabels}</svg>`;
}

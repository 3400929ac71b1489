/** Number formatting for the pages ("–" for unknown values). */

const DASH = "–";
const isNum = (v: number | null | undefined): v is number => typeof v === "number" && Number.isFinite(v);

export const fmt = {
  reward: (v: number | null | undefined): string => (isNum(v) ? v.toFixed(3) : DASH),
  meanSem: (mean: number, sem: number): string => `${(mean * 100).toFixed(1)} ± ${(sem * 100).toFixed(1)}`,
  percent: (v: number | null | undefined): string => (isNum(v) ? `${(v * 100).toFixed(1)}%` : DASH),
  count: (v: number | null | undefined): string => (isNum(v) ? Math.round(v).toLocaleString("en-US") : DASH),
  compact: (v: number | null | undefined): string => (isNum(v) ? new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 }).format(v) : DASH),
  seconds: (v: number | null | undefined): string => {
    if (!isNum(v)) return DASH;
    if (v > 0 && v < 1) return `${Math.round(v * 1000)} ms`;
    if (v < 120) return `${v.toFixed(1)} s`;
    if (v < 7200) return `${(v / 60).toFixed(1)} min`;
    return `${(v / 3600).toFixed(1)} h`;
  },
  usd: (v: number | null | undefined): string => (isNum(v) ? `$${v.toFixed(v >= 1 ? 2 : 4)}` : DASH),
  bytes: (v: number): string => (v < 1024 ? `${v} B` : v < 1024 ** 2 ? `${(v / 1024).toFixed(1)} KB` : `${(v / 1024 ** 2).toFixed(1)} MB`),
};

/** pass@k figures as "pass@2 61.0% · pass@5 70.2%" (empty when there are none). */
export function passAtKText(p: Record<string, number>): string {
  return Object.entries(p)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([k, v]) => `pass@${k} ${fmt.percent(v)}`)
    .join(" · ");
}

export function errorsText(errors: Record<string, number>): string {
  return Object.entries(errors)
    .map(([type, n]) => `${type} ×${n}`)
    .join(", ");
}

/** The pass@k figure at the largest k: "pass@5 73.3%" ("–" without any). */
export function largestPassAtK(p: Record<string, number>): string {
  const k = Object.keys(p).map(Number).sort((a, b) => a - b).at(-1);
  return k === undefined ? "–" : `pass@${k} ${fmt.percent(p[String(k)])}`;
}

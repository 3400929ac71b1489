/** Escaping and number formatting for tmax's self-contained HTML reports. */

// ---------------------------------------------------------------------------------------------------------------
// Escaping and number formatting
// ---------------------------------------------------------------------------------------------------------------

/** Escapes text for HTML element content and (double- or single-quoted) attribute values. */
export function escapeHtml(value: string | number | boolean | null | undefined): string {
  const text = value === null || value === undefined ? "" : String(value);
  return text
    // Control characters other than tab, newline and carriage return are not allowed in HTML.
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, "\ufffd")
    .replace(/[&<>"']/g, (c) => {
      switch (c) {
        case "&":
          return "&amp;";
        case "<":
          return "&lt;";
        case ">":
          return "&gt;";
        case '"':
          return "&quot;";
        default:
          return "&#39;";
      }
    });
}

const DASH = "–";
const COUNT_FORMAT = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const COMPACT_FORMAT = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });
const ONE_DECIMAL_FORMAT = new Intl.NumberFormat("en-US", { minimumFractionDigits: 1, maximumFractionDigits: 1 });

export function isNum(v: number | null | undefined): v is number {
  return typeof v === "number" && Number.isFinite(v);
}

/** Counts with thousands separators: 12345 → "12,345". */
export function formatCount(n: number | null | undefined): string {
  return isNum(n) ? COUNT_FORMAT.format(Math.round(n)) : DASH;
}

/** Large counts in compact form: 48213456 → "48.2M". */
export function formatCompact(n: number | null | undefined): string {
  return isNum(n) ? COMPACT_FORMAT.format(n) : DASH;
}

/** A rate in [0, 1] as a percentage with one decimal: 0.6123 → "61.2%"; null → "–". */
export function formatPercent(rate: number | null | undefined): string {
  if (!isNum(rate)) return DASH;
  const s = (rate * 100).toFixed(1);
  return `${s === "-0.0" ? "0.0" : s}%`;
}

/**
 * US dollars with 2–4 decimals depending on magnitude: 412.5 → "$412.50", 0.2254 → "$0.225", 0.01234 → "$0.0123",
 * amounts below $0.0001 keep two significant digits ("$0.000012").
 */
export function formatUsd(usd: number | null | undefined): string {
  if (!isNum(usd)) return DASH;
  const abs = Math.abs(usd);
  if (abs === 0) return "$0.00";
  if (abs < 0.0001) {
    return new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", maximumSignificantDigits: 2 }).format(usd);
  }
  const maxDigits = abs >= 1 ? 2 : abs >= 0.1 ? 3 : 4;
  return new Intl.NumberFormat("en-US", {
    style: "currency",
    currency: "USD",
    minimumFractionDigits: 2,
    maximumFractionDigits: maxDigits,
  }).format(usd);
}

/** Seconds with one decimal, "187.4 s"; null → "–". */
export function formatSeconds(seconds: number | null | undefined): string {
  return isNum(seconds) ? `${ONE_DECIMAL_FORMAT.format(seconds)} s` : DASH;
}

export function formatScore(score: number | null | undefined): string {
  return isNum(score) ? score.toFixed(2) : DASH;
}

export function ratio(part: number, whole: number): number | null {
  return whole > 0 ? part / whole : null;
}

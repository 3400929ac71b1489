const pad = (n: number, width = 2): string => String(n).padStart(width, "0");

/**
 * Trial-level timestamps: UTC, microsecond precision, trailing Z (e.g. 2025-11-05T12:34:56.789000Z); on a whole
 * second the fraction is left out, as Python (and so Harbor) writes it (2025-11-05T12:34:56Z).
 */
export function utcIso(date: Date = new Date()): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, (_m, ms: string) => (ms === "000" ? "Z" : `.${ms}000Z`));
}

/**
 * Job-level timestamps: naive local time with microseconds and no zone, as Python's datetime.now().isoformat()
 * (which leaves the fraction out on a whole second).
 */
export function localIso(date: Date = new Date()): string {
  const ms = date.getMilliseconds();
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}${ms === 0 ? "" : `.${pad(ms, 3)}000`}`
  );
}

/** Default job name: local YYYY-MM-DD__HH-MM-SS. */
export function defaultJobName(date: Date = new Date()): string {
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `__${pad(date.getHours())}-${pad(date.getMinutes())}-${pad(date.getSeconds())}`
  );
}

/**
 * Parses a timestamp written by tmax or Harbor. Strings with a zone are absolute; naive strings are read as
 * local time (Harbor's job-level convention). Returns NaN when unparsable.
 */
export function parseTimestamp(value: string | null | undefined): number {
  if (!value) return Number.NaN;
  const m = /^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?$/.exec(value.trim());
  if (!m) return Date.parse(value);
  const frac = (m[2] ?? "").padEnd(6, "0");
  const base = m[1]!.replace(" ", "T");
  const ms = Date.parse(`${base}.${frac.slice(0, 3)}${m[3] ?? ""}`);
  return ms + Number(frac.slice(3, 6)) / 1000;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "--";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0 ? `${h}h${pad(m)}m${pad(sec)}s` : m > 0 ? `${m}m${pad(sec)}s` : `${sec}s`;
}

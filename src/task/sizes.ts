/**
 * Harbor's legacy size strings ("2G", "512M", "4096K") in megabytes. G -> trunc(x*1024), M -> trunc(x),
 * K -> trunc(x/1024); the suffix is case-insensitive; anything else is an error.
 */
export function parseSizeToMb(text: string): number {
  const m = /^\s*(\d+(?:\.\d*)?|\.\d+)\s*([GgMmKk])\s*$/.exec(text);
  if (!m) throw new Error(`"${text}" is not a size: expected a number followed by G, M or K (e.g. "2G")`);
  const x = Number(m[1]);
  switch (m[2]!.toUpperCase()) {
    case "G":
      return Math.trunc(x * 1024);
    case "M":
      return Math.trunc(x);
    default:
      return Math.trunc(x / 1024);
  }
}

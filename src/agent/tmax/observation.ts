import { TRUNCATION_HINT } from "./prompts.js";

export const OBSERVATION_LIMIT = 10_000;
export const OBSERVATION_HALF = 5_000;

/**
 * Keeps outputs up to 10,000 code points unchanged; longer ones become the hint, the first and the last 5,000 code
 * points, and the number elided. `extraElided` counts characters already dropped before they reached us.
 */
export function truncateOutput(out: string, extraElided = 0): string {
  const chars = Array.from(out);
  const total = chars.length + extraElided;
  if (total <= OBSERVATION_LIMIT) return out;
  const head = chars.slice(0, OBSERVATION_HALF).join("");
  const tail = chars.slice(chars.length - OBSERVATION_HALF).join("");
  const elided = total - OBSERVATION_LIMIT;
  return (
    `${TRUNCATION_HINT}\n\n` +
    `---- HEAD (${OBSERVATION_HALF} chars) ----\n${head}\n` +
    `---- ${elided} chars elided ----\n` +
    `---- TAIL (${OBSERVATION_HALF} chars) ----\n${tail}`
  );
}

/** Lines some container backends print into command output (podman-compose banners, exec error lines). */
const BACKEND_NOISE = [/^Error: executing .* exit status \d+$/, /^podman-compose version/, /^using podman version/];

export function removeBackendNoise(out: string): string {
  const lines = out.split("\n");
  if (!lines.some((l) => BACKEND_NOISE.some((re) => re.test(l)))) return out;
  return lines.filter((l) => !BACKEND_NOISE.some((re) => re.test(l))).join("\n");
}

export interface CommandOutput {
  stdout: string;
  stderr: string;
  returnCode: number;
  /** Characters of stdout+stderr that were dropped before formatting (flood protection). */
  dropped?: number;
}

/** The tool result the model sees: output (stderr after stdout), "(no output)" when empty, and the exit code. */
export function formatObservation(r: CommandOutput): string {
  let out = r.stdout ?? "";
  if (r.stderr) out = out ? `${out}\n${r.stderr}` : r.stderr;
  out = removeBackendNoise(out).trimEnd();
  const body = out === "" ? "(no output)" : truncateOutput(out, r.dropped ?? 0);
  return `${body}\n\n(exit_code=${r.returnCode})`;
}

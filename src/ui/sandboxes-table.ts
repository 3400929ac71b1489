import Table from "cli-table3";
import pc from "picocolors";
import type { TmaxSandbox } from "../environment/sandboxes.js";

const COMPACT = { mid: "", "left-mid": "", "mid-mid": "", "right-mid": "" };

/** "3 s", "4 min", "2 h", "5 d": how long ago `iso` was, relative to `now`. */
export function formatAge(iso: string, now: number): string {
  const sec = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (sec < 120) return `${sec} s`;
  if (sec < 7200) return `${Math.round(sec / 60)} min`;
  if (sec < 2 * 86400) return `${Math.round(sec / 3600)} h`;
  return `${Math.round(sec / 86400)} d`;
}

function ownerCell(s: TmaxSandbox): string {
  const who = s.ownerPid === null ? "?" : `${s.ownerPid}${s.ownerHost ? `@${s.ownerHost}` : ""}`;
  if (s.owner === "alive") return `${who} ${pc.green("alive")}`;
  if (s.owner === "dead") return `${who} ${pc.red("dead")}`;
  return `${who} ${pc.yellow("unknown")}`;
}

/** `tmax sandboxes list`: one table of one engine's tmax containers. */
export function sandboxesTable(engine: string, sandboxes: readonly TmaxSandbox[], now: number): string {
  const table = new Table({
    head: ["Container", "Job", "Session", "Owner", "Age", "State"].map((h) => pc.bold(h)),
    style: { head: [], border: [] },
    chars: COMPACT,
  });
  for (const s of sandboxes) {
    table.push([s.name || s.id.slice(0, 12), s.job ?? "–", s.session.slice(0, 8), ownerCell(s), formatAge(s.createdAt, now), s.state]);
  }
  return `${pc.bold(engine)}: ${sandboxes.length} tmax container(s)\n${sandboxes.length > 0 ? table.toString() : ""}`.trimEnd();
}

import Table from "cli-table3";
import pc from "picocolors";
import type { Summary, TaskSummary } from "../stats/summary.js";

const f3 = (x: number): string => x.toFixed(3);

/** Box drawing without a rule between every row. */
const COMPACT = { mid: "", "left-mid": "", "mid-mid": "", "right-mid": "" };

/** The end-of-job / `tmax stats` table for one job. */
export function summaryTable(title: string, s: Summary): string {
  const table = new Table({ head: [pc.bold("Job"), pc.bold(title)], style: { head: [], border: [] }, chars: COMPACT });
  const k = s.runs.length;
  table.push(
    ["Trials", `${s.n_trials}${s.n_unfinished ? ` (+${s.n_unfinished} unfinished, not counted)` : ""}`],
    ["Tasks", String(s.n_tasks)],
    ["With reward", `${s.n_rewarded}`],
    ["Errored", s.n_errored > 0 ? pc.red(String(s.n_errored)) : "0"],
  );
  for (const [type, n] of Object.entries(s.errors)) table.push([`  ${type}`, String(n)]);
  table.push([`Mean ${s.reward_key}`, pc.bold(f3(s.mean)) + pc.dim("  (missing rewards count 0)")]);
  for (const [key, m] of Object.entries(s.reward_means)) {
    if (key === s.reward_key) continue;
    const rep = s.reward_reported[key];
    const note = rep && rep.n < s.n_trials ? pc.dim(`  (${f3(rep.mean)} over the ${rep.n} trial${rep.n === 1 ? "" : "s"} reporting it)`) : "";
    table.push([`Mean ${key}`, f3(m) + note]);
  }
  table.push([
    `Over ${k} run${k === 1 ? "" : "s"}`,
    k > 0 ? `${f3(s.mean)} ± ${f3(s.sem)} ${pc.dim(`(± = SEM; population std ${f3(s.std)})`)}` : "–",
  ]);
  if (k > 1) table.push(["Per-run means", s.runs.map(f3).join("  ")]);
  const v = s.valid_rewards;
  if (v.n_trials < s.n_trials) {
    table.push(["Harbor ≥ 0.26 mean", `${v.mean === null ? "–" : f3(v.mean)}${pc.dim(`  (over the ${v.n_trials} trial${v.n_trials === 1 ? "" : "s"} with a valid reward; the rest left out)`)}`]);
  }
  const passes = Object.entries(s.pass_at_k);
  if (passes.length > 0) table.push(["pass@k", passes.map(([kk, v]) => `pass@${kk} ${f3(v)}`).join("  ")]);
  if (s.tokens.input != null || s.tokens.output != null) {
    table.push(["Tokens in / out", `${s.tokens.input ?? 0} / ${s.tokens.output ?? 0}`]);
  }
  if (s.tokens.cost_usd != null) table.push(["Cost", `$${s.tokens.cost_usd.toFixed(4)}`]);
  return table.toString();
}

export function perTaskTable(tasks: TaskSummary[]): string {
  const ks = [...new Set(tasks.flatMap((t) => Object.keys(t.pass_at_k)))].sort((a, b) => Number(a) - Number(b));
  const table = new Table({
    head: ["Task", "Attempts", "Solved", "Mean", ...ks.map((k) => `pass@${k}`), "Errors"].map((h) => pc.bold(h)),
    style: { head: [], border: [] },
    chars: COMPACT,
  });
  for (const t of tasks) {
    table.push([
      t.task,
      String(t.attempts),
      String(t.successes),
      f3(t.mean),
      ...ks.map((k) => (t.pass_at_k[k] === undefined ? "–" : f3(t.pass_at_k[k]))),
      Object.entries(t.errors)
        .map(([type, n]) => `${type}×${n}`)
        .join(", "),
    ]);
  }
  return table.toString();
}

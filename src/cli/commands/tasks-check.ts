import { availableParallelism, totalmem } from "node:os";
import { basename, join, resolve } from "node:path";
import pc from "picocolors";
import { discoverTasks } from "../../task/dataset.js";
import { describeNetworkPolicy } from "../../task/network-policy.js";
import { formatProblem, type TaskProblem } from "../../task/problems.js";
import { firewallUnavailable } from "../../environment/egress-firewall.js";
import { EXIT, type ExitCode } from "../exit-codes.js";

/**
 * `tmax tasks check`: validates tasks and lists every problem with its file and field, with warnings for limits this
 * host cannot meet, and each valid task's network policy (with a warning when this host cannot enforce an
 * allowlist, which `tmax run` then refuses). Exit 1 on any error.
 */
export async function tasksCheckCommand(dirs: string[], opts: { json: boolean }): Promise<ExitCode> {
  const report: { task: string; dir: string; ok: boolean; network: string | null; problems: TaskProblem[] }[] = [];
  let allowlistBlocker: Promise<string | null> | null = null;
  const host = { memoryMb: Math.floor(totalmem() / 2 ** 20), cpus: availableParallelism() };
  let fatal = false;
  for (const dir of dirs) {
    let found;
    try {
      found = await discoverTasks(dir, {}, { host });
    } catch (err) {
      console.error(pc.red(`tmax tasks check: ${(err as Error).message}`));
      fatal = true;
      continue;
    }
    for (const t of found.tasks) {
      const policy = t.config.environment.network;
      const problems = [...t.warnings];
      if (policy.mode === "allowlist") {
        const blocker = await (allowlistBlocker ??= firewallUnavailable());
        if (blocker) {
          problems.push({
            file: join(basename(t.dir), "task.toml"),
            field: "[environment].network_mode",
            message: `"allowlist" cannot be enforced on this host (${blocker}); tmax run refuses this task rather than run it with an open network`,
            severity: "warning",
          });
        }
      }
      report.push({ task: t.name, dir: t.dir, ok: true, network: describeNetworkPolicy(policy), problems });
    }
    for (const b of found.invalid) report.push({ task: b.name, dir: resolve(b.dir), ok: false, network: null, problems: b.problems });
  }
  report.sort((a, b) => (a.task < b.task ? -1 : a.task > b.task ? 1 : 0));
  const bad = report.filter((r) => !r.ok);
  if (opts.json) {
    console.log(JSON.stringify(report, null, 2));
  } else {
    for (const r of report) {
      const mark = r.ok ? (r.problems.length > 0 ? pc.yellow("!") : pc.green("✓")) : pc.red("✗");
      console.log(`${mark} ${r.task}${r.ok ? pc.dim(`  network: ${r.network ?? "?"}`) : pc.red("  invalid")}`);
      for (const p of r.problems) {
        const line = `    ${p.severity === "error" ? pc.red("error") : pc.yellow("warning")} ${formatProblem(p)}`;
        console.log(line);
      }
    }
    console.log(`\n${report.length} task(s) checked: ${report.length - bad.length} valid, ${bad.length} invalid`);
  }
  return fatal || bad.length > 0 ? EXIT.failure : EXIT.ok;
}

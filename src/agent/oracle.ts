import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Agent, AgentOptions, AgentRunContext } from "./agent.js";
import type { Environment } from "../environment/environment.js";
import { TaskFileFilter } from "../task/harborignore.js";

/**
 * Runs the task's reference solution: solution/ is uploaded to /solution and solve.sh runs with its output in
 * /logs/agent/oracle.txt. A non-zero exit is written to agent/exit-code.txt, not raised. In a multi-step task each
 * step runs its own steps/<name>/solution/solve.sh, or the task's solution/ when the step has none (as in Harbor).
 */
export class OracleAgent implements Agent {
  readonly name = "oracle";
  readonly version = "1.0.0";
  readonly modelInfo = null;

  constructor(private readonly opts: AgentOptions) {}

  async setup(): Promise<void> {}

  async run(_instruction: string, env: Environment, ctx: AgentRunContext): Promise<void> {
    const solution = ctx.step?.solutionDir ?? ctx.task.solutionDir;
    if (!solution) {
      const which = ctx.step ? `steps/${ctx.step.config.name}/solution/solve.sh nor solution/solve.sh` : "solution/solve.sh";
      throw new Error(`task ${ctx.task.name} has no ${which}, so the oracle agent cannot run it`);
    }
    // As Harbor: a solve.sh the task's .harborignore excludes is an error, and excluded files are not uploaded.
    const filter = new TaskFileFilter(ctx.task.dir);
    filter.requireIncluded(join(solution, "solve.sh"));
    if (ctx.step) await env.exec("rm -rf /solution", { user: "root", timeoutSec: 60 }); // the previous step's
    await env.uploadDir(solution, "/solution", { exclude: filter.excluderFor(solution) });
    const result = await env.exec("chmod +x /solution/solve.sh; bash /solution/solve.sh > /logs/agent/oracle.txt 2>&1", {
      env: { DEBIAN_FRONTEND: "noninteractive", ...ctx.task.config.solution.env, ...this.opts.env },
      signal: ctx.signal,
      maxOutputBytes: 64 * 1024,
    });
    if (!env.mounted) await env.downloadFile("/logs/agent/oracle.txt", join(ctx.logsDir, "oracle.txt")).catch(() => undefined);
    if (result.returnCode !== 0) {
      await writeFile(join(ctx.logsDir, "exit-code.txt"), `${result.returnCode}\n`);
      ctx.log(`solve.sh exited with ${result.returnCode}`);
    }
  }
}

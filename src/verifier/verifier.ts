import { join } from "node:path";
import type { Environment } from "../environment/environment.js";
import { TaskFileFilter } from "../task/harborignore.js";
import type { Task, TaskStep } from "../task/task.js";
import { resolveEnvMap } from "../task/templating.js";
import { VerifierTimeoutError } from "../harbor/exceptions.js";
import { readRewards, type Rewards } from "./reward.js";
import type { AgentProcessPolicy } from "./agent-processes.js";
import { lockTestsCommand, resetForVerifier } from "./sandbox-reset.js";

export interface VerifyOptions {
  timeoutSec: number | null;
  /** CLI overrides (--ve) on top of [verifier].env. */
  env?: Record<string, string>;
  signal?: AbortSignal;
  log?: (line: string) => void;
  /** Which processes the agent left end before the tests (agent-processes.ts); default "servers". */
  agentProcesses?: AgentProcessPolicy;
  /** The step of a multi-step task whose tests run: its tests/ over the task's, its [steps.verifier] over [verifier]. */
  step?: TaskStep;
  /** The environment's image brings /tests (a separate verifier's own image): nothing is uploaded, nothing removed. */
  bundledTests?: boolean;
}

/**
 * Runs the task's tests after the agent is done. First the sandbox is reset (sandbox-reset.ts): the agent's
 * processes are ended and /logs/verifier and /tests emptied. Then tests/ is uploaded to /tests (owned by the
 * verifier's user, writable by nobody else), test.sh runs with its output in /logs/verifier/test-stdout.txt (its
 * exit code is ignored), and the reward file decides. Files the task's `.harborignore` rules exclude are not uploaded
 * (task/harborignore.ts). `verifierDir` is the host folder that holds /logs/verifier
 * (mounted, or downloaded into after the run). For a step of a multi-step task, the task's tests/ is uploaded first
 * and the step's tests/ over it (a file of the step's replaces the task's of the same name), as in Harbor.
 */
export async function verify(env: Environment, task: Task, verifierDir: string, opts: VerifyOptions): Promise<Rewards> {
  const reset = await resetForVerifier(env, opts.agentProcesses ?? "servers", opts.bundledTests);
  if (reset.processesKilled > 0) opts.log?.(`ended ${reset.processesKilled} process(es) the agent left running`);
  if (!opts.bundledTests) {
    const filter = new TaskFileFilter(task.dir);
    for (const dir of opts.step ? opts.step.testDirs : [task.testsDir]) await env.uploadDir(dir, "/tests", { exclude: filter.excluderFor(dir) });
  }
  const stepVerifier = opts.step?.config.verifier;
  const user = stepVerifier?.user ?? task.config.verifier.user;
  const asRoot = user === null || user === "root" || user === 0;
  // Folded into the test command when the verifier runs as root anyway (one exec less).
  if (!asRoot) {
    const locked = await env.exec(lockTestsCommand(user), { user: "root", timeoutSec: 60 });
    if (locked.returnCode !== 0) throw new Error(`could not hand /tests to the verifier user ${String(user)}: ${locked.stderr.trim()}`);
  }
  const command = `${asRoot ? `${lockTestsCommand(user)} 2>/dev/null; ` : ""}bash /tests/test.sh > /logs/verifier/test-stdout.txt 2>&1`;
  const result = await env.exec(command, {
    env: { ...resolveEnvMap({ ...task.config.verifier.env, ...stepVerifier?.env }), ...(opts.env ?? {}) },
    user,
    timeoutSec: opts.timeoutSec,
    signal: opts.signal,
    maxOutputBytes: 64 * 1024,
  });
  if (!env.mounted) await env.downloadDir("/logs/verifier", verifierDir);
  if (result.timedOut) throw new VerifierTimeoutError(`the verifier did not finish within ${opts.timeoutSec} s`);
  return readRewards(join(verifierDir, "reward.json"), join(verifierDir, "reward.txt"));
}

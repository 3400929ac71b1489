import { join } from "node:path";
import type { Environment } from "../environment/environment.js";
import type { Task } from "../task/task.js";
import { resolveEnvMap } from "../task/templating.js";
import { VerifierTimeoutError } from "../harbor/exceptions.js";
import { readRewards, type Rewards } from "./reward.js";

export interface VerifyOptions {
  timeoutSec: number | null;
  /** CLI overrides (--ve) on top of [verifier].env. */
  env?: Record<string, string>;
  signal?: AbortSignal;
}

/**
 * Runs the task's tests after the agent is done: tests/ is uploaded to /tests only now, test.sh runs with its
 * output in /logs/verifier/test-stdout.txt (its exit code is ignored), and the reward file decides.
 */
/** `verifierDir` is the host folder that holds /logs/verifier (mounted, or downloaded into after the run). */
export async function verify(env: Environment, task: Task, verifierDir: string, opts: VerifyOptions): Promise<Rewards> {
  await env.uploadDir(task.testsDir, "/tests");
  const user = task.config.verifier.user;
  const asRoot = user === null || user === "root" || user === 0;
  // Test files are made executable as root; folded into the test command when the verifier runs as root anyway.
  if (!asRoot) await env.exec("chmod -R a+rx /tests", { user: "root", timeoutSec: 60 });
  const command = `${asRoot ? "chmod -R a+rx /tests 2>/dev/null; " : ""}bash /tests/test.sh > /logs/verifier/test-stdout.txt 2>&1`;
  const result = await env.exec(command, {
    env: { ...resolveEnvMap(task.config.verifier.env), ...(opts.env ?? {}) },
    user,
    timeoutSec: opts.timeoutSec,
    signal: opts.signal,
    maxOutputBytes: 64 * 1024,
  });
  if (!env.mounted) await env.downloadDir("/logs/verifier", verifierDir);
  if (result.timedOut) throw new VerifierTimeoutError(`the verifier did not finish within ${opts.timeoutSec} s`);
  return readRewards(join(verifierDir, "reward.json"), join(verifierDir, "reward.txt"));
}

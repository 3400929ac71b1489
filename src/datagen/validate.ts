import { existsSync, readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { NopAgent } from "../agent/nop.js";
import { OracleAgent } from "../agent/oracle.js";
import type { Agent } from "../agent/agent.js";
import type { Environment, EnvironmentProvider } from "../environment/environment.js";
import { buildJobConfig, buildTrialConfig, runOptionsWithDefaults } from "../job/config.js";
import { loadTask, type Task } from "../task/task.js";
import { environmentSpecFor, imageSourceFor } from "../trial/environment-spec.js";
import { runTrial } from "../trial/trial.js";
import type { TrialResult } from "../harbor/trial-schema.js";
import { errorMessage } from "../util/errors.js";
import { primaryReward } from "../verifier/reward.js";
import type { ValidationRecord } from "../store/corpus-schema.js";
import type { LlmStage } from "./stages.js";

/** Why a generated task was turned down; also the manifest's rejection reasons. */
export type RejectReason =
  | "build_failed"
  | "initial_tests_failed"
  | "answers_in_image"
  | "tests_pass_without_solution"
  | "tests_broken"
  | "solution_fails";

export interface ValidationFailure {
  /** The stage whose output must change. */
  stage: Exclude<LlmStage, "task">;
  reason: RejectReason;
  /** One sentence for the model and the manifest. */
  problem: string;
  /** Logs the model needs to fix it (tail of build log, pytest output, ...). */
  details: string;
}

export type ValidationOutcome = { ok: true; record: ValidationRecord } | { ok: false; failure: ValidationFailure; record: ValidationRecord };

const tail = (text: string, lines = 60, chars = 6000): string => {
  const t = text.split("\n").slice(-lines).join("\n");
  return t.length > chars ? t.slice(-chars) : t;
};

function readTail(path: string): string {
  return existsSync(path) ? tail(readFileSync(path, "utf8")) : "(missing)";
}

/** Files in the image whose names suggest they hold answers (they must not ship to the agent). */
const ANSWER_FILES_CMD = [
  "find / -xdev -type f",
  "\\( -iname '*answer*' -o -iname '*expected*' -o -iname '*solution*' -o -iname '*truth*' -o -iname '*golden*' \\)",
  "-not -path '/usr/*' -not -path '/proc/*' -not -path '/sys/*' -not -path '/var/lib/*' -not -path '/var/cache/*'",
  "-not -path '/etc/*' -not -path '/tmp/tmax-initial/*' -not -path '/logs/*' 2>/dev/null | head -20",
].join(" ");

async function runValidationTrial(
  task: Task,
  agent: Agent,
  provider: EnvironmentProvider,
  dir: string,
  signal?: AbortSignal,
): Promise<TrialResult> {
  const job = buildJobConfig(runOptionsWithDefaults({ path: task.dir, agent: agent.name, singleTask: true, jobsDir: dir, jobName: "validation" }));
  const config = buildTrialConfig(job, task, `${agent.name}`, "validation", null);
  return runTrial({ task, config, source: null, dir: join(dir, agent.name) }, { provider, agent, signal });
}

/**
 * Proves a generated task in real containers: the image builds; the initial-state test passes in it; no answer
 * files ship in it; the final tests fail on the untouched environment (nop → reward 0); the reference solution makes
 * them pass (oracle → reward 1). The first failure is returned with the stage that must fix it.
 */
export async function validateTask(
  taskDir: string,
  provider: EnvironmentProvider,
  opts: { workDir: string; signal?: AbortSignal; round: number; repairs: number },
): Promise<ValidationOutcome> {
  const record: ValidationRecord = {
    image_built: false,
    build_s: null,
    initial_tests: "not_run",
    nop_reward: null,
    oracle_reward: null,
    rounds: opts.round,
    repairs: opts.repairs,
  };
  const fail = (failure: ValidationFailure): ValidationOutcome => ({ ok: false, failure, record });
  await mkdir(opts.workDir, { recursive: true });

  let task: Task;
  try {
    task = await loadTask(taskDir);
  } catch (err) {
    return fail({ stage: "environment", reason: "build_failed", problem: "the task directory is invalid", details: errorMessage(err) });
  }

  // 1. The image builds.
  const buildLog: string[] = [];
  const t0 = performance.now();
  try {
    await provider.prepareImage(imageSourceFor(task), { log: (l) => buildLog.push(l), signal: opts.signal, displayName: task.name });
  } catch (err) {
    if (opts.signal?.aborted) throw opts.signal.reason;
    return fail({ stage: "environment", reason: "build_failed", problem: "the Docker image does not build", details: tail([...buildLog, errorMessage(err)].join("\n")) });
  }
  record.image_built = true;
  record.build_s = Math.round((performance.now() - t0) / 100) / 10;

  // 2. The initial-state test passes, and no answer files are in the image.
  let env: Environment | null = null;
  try {
    env = provider.createEnvironment(
      environmentSpecFor(task, {
        trialName: `validate-${task.name}`,
        logs: { agent: join(opts.workDir, "initial", "agent"), verifier: join(opts.workDir, "initial", "verifier"), artifacts: join(opts.workDir, "initial", "artifacts") },
      }),
    );
    await env.start({ signal: opts.signal });
    await env.uploadFile(join(task.testsDir, "test_initial_state.py"), "/tmp/tmax-initial/test_initial_state.py");
    const r = await env.exec("python3 -m pytest -q -rA -p no:cacheprovider /tmp/tmax-initial/test_initial_state.py", {
      timeoutSec: 300,
      signal: opts.signal,
      maxOutputBytes: 256 * 1024,
    });
    record.initial_tests = r.returnCode === 0 ? "passed" : "failed";
    if (r.returnCode !== 0) {
      return fail({
        stage: "environment",
        reason: "initial_tests_failed",
        problem: `the initial-state test fails in the built image (exit ${r.returnCode}${r.timedOut ? ", timed out" : ""})`,
        details: tail(`${r.stdout}\n${r.stderr}`),
      });
    }
    const found = (await env.exec(ANSWER_FILES_CMD, { timeoutSec: 120, signal: opts.signal })).stdout.trim();
    if (found) {
      return fail({
        stage: "environment",
        reason: "answers_in_image",
        problem: "the image contains files whose names suggest answers, expected outputs or solutions; the agent would see them",
        details: `${found}\nRemove them from the image (the final test must recompute or embed expected values), or rename genuine inputs.`,
      });
    }
  } catch (err) {
    if (opts.signal?.aborted) throw opts.signal.reason;
    return fail({ stage: "environment", reason: "initial_tests_failed", problem: "the environment could not be started or checked", details: errorMessage(err) });
  } finally {
    await env?.stop().catch(() => undefined);
  }

  // 3. The final tests fail on the untouched environment.
  const nop = await runValidationTrial(task, new NopAgent(), provider, join(opts.workDir, "nop"), opts.signal);
  if (opts.signal?.aborted) throw opts.signal.reason;
  const nopOut = readTail(join(opts.workDir, "nop", "nop", "verifier", "test-stdout.txt"));
  record.nop_reward = primaryReward(nop.verifier_result?.rewards);
  if (nop.exception_info) {
    return fail({
      stage: "tests",
      reason: "tests_broken",
      problem: `grading the untouched environment failed with ${nop.exception_info.exception_type}: ${nop.exception_info.exception_message}`,
      details: nopOut,
    });
  }
  if (record.nop_reward !== 0) {
    return fail({
      stage: "tests",
      reason: "tests_pass_without_solution",
      problem: `the final test gives reward ${record.nop_reward} on the untouched environment; it must give 0 until the task is done`,
      details: nopOut,
    });
  }

  // 4. The reference solution makes them pass.
  const oracle = await runValidationTrial(task, new OracleAgent({ modelName: null, kwargs: {}, env: {} }), provider, join(opts.workDir, "oracle"), opts.signal);
  if (opts.signal?.aborted) throw opts.signal.reason;
  record.oracle_reward = primaryReward(oracle.verifier_result?.rewards);
  const oracleDir = join(opts.workDir, "oracle", "oracle");
  if (oracle.exception_info || record.oracle_reward !== 1) {
    const why = oracle.exception_info
      ? `${oracle.exception_info.exception_type}: ${oracle.exception_info.exception_message}`
      : `the final test gives reward ${record.oracle_reward} after the reference solution; it must give 1`;
    return fail({
      stage: "solution",
      reason: "solution_fails",
      problem: why,
      details: `solve.sh output:\n${readTail(join(oracleDir, "agent", "oracle.txt"))}\n\ntest output:\n${readTail(join(oracleDir, "verifier", "test-stdout.txt"))}`,
    });
  }
  return { ok: true, record };
}

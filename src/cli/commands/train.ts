import { spawn } from "node:child_process";
import { resolve } from "node:path";
import pc from "picocolors";
import type { EnvironmentProvider } from "../../environment/environment.js";
import { loadTrainConfig } from "../../rl/train/config-file.js";
import { TrainConfigError, type TrainConfig } from "../../rl/train/train-config.js";
import { METRICS_FILE, readRunConfig, REPORT_FILE, trainRun, type EvalJob, type EvalSummary } from "../../rl/train/train-run.js";
import { trainReportHtml } from "../../ui/html/train-report.js";
import { TrainView } from "../../ui/train-view.js";
import { openJobEngines } from "../engine.js";
import { EXIT, UsageError, type ExitCode } from "../exit-codes.js";
import { handleInterrupts } from "../interrupts.js";

/**
 * `tmax train --config FILE [flags]` and `tmax train --resume OUT`: asynchronous DPPO (rl/train/). The live view
 * and logs go to stderr; the run's summary to stdout (JSON with --json). Ctrl-C stops within seconds, removes every
 * container, stops the learner and the servers tmax started, and leaves the run resumable from its last resume
 * state.
 */

export interface TrainCliOptions {
  config?: string;
  resume?: string;
  json: boolean;
  /** Config keys given as flags (snake_case). */
  overrides: Record<string, unknown>;
}

/** What a resumed run may change: how long it runs, and where it samples. */
const RESUME_OVERRIDES = new Set(["steps", "endpoints", "reference_servers", "sandboxes", "engines", "engine_max_starts", "engine_max_execs"]);

async function configFor(o: TrainCliOptions): Promise<TrainConfig> {
  try {
    if (o.resume !== undefined) {
      const saved = await readRunConfig(resolve(o.resume));
      const refused = Object.keys(o.overrides).filter((k) => !RESUME_OVERRIDES.has(k));
      if (o.config !== undefined || refused.length > 0) {
        throw new UsageError(`--resume continues a run with its own config; only ${[...RESUME_OVERRIDES].join(", ")} may be given again (got ${[...(o.config ? ["--config"] : []), ...refused].join(", ")})`);
      }
      return { ...saved, ...o.overrides };
    }
    return await loadTrainConfig(o.config, o.overrides);
  } catch (err) {
    if (err instanceof TrainConfigError) throw new UsageError(err.message);
    throw err;
  }
}

/**
 * A checkpoint evaluation is a normal `tmax run` of the tmax agent (this same CLI, as a child process), so its job
 * dir is one `tmax stats`, the viewer and Harbor read; its JSON summary is the result.
 */
function runEvalJob(job: EvalJob, signal: AbortSignal): Promise<EvalSummary> {
  const cli = process.argv[1]!;
  const args = [cli, "run", "-p", job.dataset, "-a", "tmax", "-m", job.model, "--base-url", job.baseUrl, "-k", String(job.attempts), "-n", String(job.concurrency)];
  args.push("-o", job.jobsDir, "--job-name", job.jobName, "--env", job.env, "--json");
  for (const [key, value] of Object.entries(job.agentKwargs)) args.push("--ak", `${key}=${String(value)}`);
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], signal, env: { ...process.env, OPENAI_API_KEY: process.env.OPENAI_API_KEY ?? "none" } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("error", reject);
    child.once("close", (code) => {
      try {
        const summary = JSON.parse(stdout) as EvalSummary;
        if (typeof summary.mean !== "number") throw new Error("no mean in its summary");
        resolvePromise(summary);
      } catch (err) {
        reject(new Error(`the evaluation job ${job.jobName} failed (exit ${code}): ${(err as Error).message}\n${stderr.slice(-2000)}`));
      }
    });
  });
}

export async function trainCommand(o: TrainCliOptions): Promise<ExitCode> {
  const config = await configFor(o);
  let provider: EnvironmentProvider | null = null;
  let view = null as TrainView | null;
  const interrupts = handleInterrupts("stopping the training run: rollouts, containers, learner, servers…", async () => provider?.close());
  try {
    provider = await openJobEngines(config.env, config.engines, interrupts.signal, { startsPerEngine: config.engine_max_starts, execsPerEngine: config.engine_max_execs });
    const result = await trainRun(config, o.resume !== undefined, {
      provider,
      signal: interrupts.signal,
      log: (line) => (view ? view.message(pc.dim(line)) : console.error(pc.dim(line))),
      onStart: (info) => {
        console.error(
          pc.dim(
            `training on ${info.tasks} task(s) · ${config.prompts_per_step} prompts × ${config.group_size} rollouts per step · steps ${info.startStep + 1}–${config.steps} · endpoints ${info.endpoints.join(", ")} → ${config.out}`,
          ),
        );
        view = new TrainView(config.steps, info.startStep, config.sandboxes, info.status);
        view.start();
      },
      onStep: (m) => view?.stepEnded(m),
      report: (steps) => trainReportHtml(`tmax train · ${config.out}`, steps),
      runEval: (job) => runEvalJob(job, interrupts.signal),
    });
    view?.stop();
    const summary = {
      out: result.out,
      steps: result.steps,
      resumed_from_step: result.firstStep,
      reward_mean: result.lastMetrics?.reward_mean ?? null,
      policy_version: result.lastMetrics?.policy_version ?? 0,
      checkpoint: result.checkpoint,
      metrics: resolve(result.out, METRICS_FILE),
      chart: resolve(result.out, REPORT_FILE),
    };
    if (o.json) console.log(JSON.stringify(summary, null, 2));
    else {
      console.log(
        [
          `${summary.steps} steps in ${summary.out} (policy version ${summary.policy_version})`,
          `reward mean at the last step: ${summary.reward_mean?.toFixed(3) ?? "–"}`,
          `weights: ${summary.checkpoint ?? "none"}`,
          `metrics: ${summary.metrics} · chart: ${summary.chart}`,
        ].join("\n"),
      );
    }
    return EXIT.ok;
  } catch (err) {
    view?.stop();
    if (interrupts.signal.aborted) {
      console.error(pc.yellow(`stopped; continue with: npx tmax train --resume ${config.out}`));
      return EXIT.interrupted;
    }
    if (err instanceof TrainConfigError) throw new UsageError(err.message);
    throw err;
  } finally {
    await provider?.close();
    interrupts.dispose();
  }
}

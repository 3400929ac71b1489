import { existsSync, readdirSync } from "node:fs";
import { appendFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import type { EnvironmentProvider } from "../../environment/environment.js";
import { loadHfTokenizer } from "../../model/hf/hf-tokenizer.js";
import { padTokenOf } from "../../model/hf/pad-token.js";
import { discoverTasks } from "../../task/dataset.js";
import { blockingProblems, formatProblem } from "../../task/problems.js";
import type { Task } from "../../task/task.js";
import { readTrainMetricsFile, TRAIN_METRICS_FILE } from "../../store/train-run.js";
import { writeFileAtomic } from "../../util/atomic-write.js";
import { linkTree } from "../../util/file-tree.js";
import { VllmDevControl } from "../inference-control.js";
import { LearnerClient } from "../learner-client.js";
import { promptCodecFor } from "../prompt-codec.js";
import { ReferenceServer } from "../reference-server.js";
import { EndpointPool } from "./endpoints.js";
import { tasksWithinPromptLimit } from "./prompt-filter.js";
import type { StepEval, StepMetrics, TrainerStatus } from "./step-metrics.js";
import { parseTrainConfig, TrainConfigError, type TrainConfig } from "./train-config.js";
import { modelVocabSize, probeServerTokenizer } from "./guards.js";
import { Trainer, type TrainerPosition } from "./trainer.js";
import { weightSyncFor, type WeightSync } from "./weight-sync.js";

/**
 * A whole `tmax train` run in its output dir:
 *
 *   OUT/train-config.json       the resolved config (what --resume continues)
 *   OUT/metrics.jsonl           one line per step (step-metrics.ts); OUT/metrics.html, its curves
 *   OUT/checkpoints/step_N/     Hugging Face weights (every hf_every steps and the newest); …/resume/step_N/ the
 *                               learner's resume state (every resume_every steps, the last keep_resume kept)
 *   OUT/rollouts/step_N/        the rollouts step N trained on (rollouts.json + rollouts.bin); …/logs/ per sample
 *
 * It starts what the config asks for (reference inference servers, the learner, possibly under torchrun), runs the
 * trainer, and stops everything it started on every exit path.
 */

export const CONFIG_FILE = "train-config.json";
export const METRICS_FILE = TRAIN_METRICS_FILE;
export const REPORT_FILE = "metrics.html";

export interface TrainRunHooks {
  provider: EnvironmentProvider;
  signal: AbortSignal;
  log: (line: string) => void;
  onStart?: (info: { startStep: number; tasks: number; endpoints: string[]; status: () => TrainerStatus }) => void;
  onStep?: (metrics: StepMetrics) => void;
  /** The HTML of OUT/metrics.html from every step's metrics so far (rewritten after each step). */
  report?: (steps: readonly StepMetrics[]) => string;
  /** Runs a tmax-agent job on the eval dataset against `baseUrl` (a normal `tmax run`); its summary. */
  runEval?: (job: EvalJob) => Promise<EvalSummary>;
}

export interface EvalJob {
  dataset: string;
  baseUrl: string;
  model: string;
  attempts: number;
  concurrency: number;
  jobsDir: string;
  jobName: string;
  env: TrainConfig["env"];
  agentKwargs: Record<string, string | number | boolean>;
}

export interface EvalSummary {
  mean: number;
  sem: number;
  pass_at_k: Record<string, number>;
  n_trials: number;
}

export interface TrainRunResult {
  out: string;
  steps: number;
  firstStep: number;
  lastMetrics: StepMetrics | null;
  checkpoint: string | null;
}

/** The newest complete learner resume dir under OUT/checkpoints/resume (at most `maxStep`), with its step. */
export function latestResumeDir(out: string, maxStep = Number.POSITIVE_INFINITY): { dir: string; step: number } | null {
  const base = join(out, "checkpoints", "resume");
  if (!existsSync(base)) return null;
  const steps = readdirSync(base)
    .filter((name) => /^step_\d+$/.test(name) && existsSync(join(base, name, "state.json")))
    .map((name) => Number(name.slice(5)))
    .filter((step) => step <= maxStep)
    .sort((a, b) => a - b);
  const step = steps.at(-1);
  return step === undefined ? null : { dir: join(base, `step_${step}`), step };
}

/** The config a run was started with (OUT/train-config.json). */
export async function readRunConfig(out: string): Promise<TrainConfig> {
  const file = join(out, CONFIG_FILE);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new TrainConfigError(`${out}: not a tmax train output dir (no ${CONFIG_FILE})`);
  }
  return parseTrainConfig(JSON.parse(text), file);
}

async function loadTrainingTasks(config: TrainConfig, log: (line: string) => void, codec: ReturnType<typeof promptCodecFor>): Promise<Task[]> {
  const found = await discoverTasks(config.tasks);
  for (const bad of found.invalid) log(`skipping ${bad.valid ? "unrunnable" : "invalid"} task ${bad.name}: ${blockingProblems(bad.problems).map(formatProblem).join("; ")}`);
  // A rollout is one episode on one instruction; a multi-step task has one per step.
  const single = found.tasks.filter((t) => !t.steps);
  for (const t of found.tasks.filter((x) => x.steps)) log(`skipping ${t.name}: multi-step tasks are not rolled out (one instruction per episode)`);
  const { kept, tooLong } = tasksWithinPromptLimit(single, codec, config.max_prompt_tokens);
  for (const t of tooLong) log(`skipping ${t.task.name}: its prompt has ${t.tokens} tokens (max_prompt_tokens ${config.max_prompt_tokens})`);
  if (kept.length === 0) throw new TrainConfigError(`${config.tasks}: no task to train on`);
  return kept;
}

const count = z.number().int().nonnegative();
const positionSchema = z.object({
  stream: z.object({ next: count, pending: z.array(count) }),
  // Absent in runs saved before passes were tallied.
  passes: z.array(z.object({ pass: count, finished: count, rewardSum: z.number(), scored: count })).default([]),
});

/** metrics.jsonl's steps; `torn`: its last line has no newline (a hard kill mid-append), so the file is rewritten. */
async function readMetrics(out: string): Promise<{ steps: StepMetrics[]; torn: boolean }> {
  const { rows, torn } = await readTrainMetricsFile(out);
  return { steps: rows as unknown as StepMetrics[], torn };
}

export async function trainRun(config: TrainConfig, resume: boolean, hooks: TrainRunHooks): Promise<TrainRunResult> {
  const out = config.out;
  const metricsFile = join(out, METRICS_FILE);
  const checkpointsDir = join(out, "checkpoints");
  // A run killed hard may have had the learner finish (and save) a step whose metrics line was never written: resume
  // from the newest state the metrics account for, so that no step goes unrecorded (the later one is redone).
  const { steps: recorded, torn } = await readMetrics(out);
  const resumeFrom = resume ? latestResumeDir(out, recorded.at(-1)?.step ?? 0) : null;
  if (!resume && existsSync(metricsFile)) throw new TrainConfigError(`${out} already holds a training run: continue it with --resume ${out}, or choose another out dir`);
  await mkdir(join(checkpointsDir, "batches"), { recursive: true });
  if (!resume) await writeFileAtomic(join(out, CONFIG_FILE), JSON.stringify(config, null, 2) + "\n");
  // A resumed run redoes the steps after its checkpoint: their lines go, and so does a line cut short (a last line
  // left without its newline would run into the next one).
  const history = recorded.filter((m) => m.step <= (resumeFrom?.step ?? 0));
  if (history.length < recorded.length || torn) await writeFileAtomic(metricsFile, history.map((m) => JSON.stringify(m) + "\n").join(""));

  const tokenizer = await loadHfTokenizer(config.model_dir);
  const codec = promptCodecFor(tokenizer);
  const tasks = await loadTrainingTasks(config, hooks.log, codec);
  const padTokenId = await padTokenOf(config.model_dir);
  const startWeights = resumeFrom?.dir ?? config.model_dir;

  const servers: ReferenceServer[] = [];
  let learner: LearnerClient | null = null;
  let syncToClose: WeightSync | null = null;
  try {
    const urls: string[] = [];
    for (const endpoint of config.endpoints) {
      if (endpoint !== "reference") {
        urls.push(endpoint);
        continue;
      }
      for (let i = 0; i < config.reference_servers; i++) {
        const server = await ReferenceServer.start({
          modelDir: startWeights,
          port: 0,
          seed: config.seed + i,
          servedModelNames: [config.served_model],
          batchDecode: true,
          onLog: (line) => {
            if (line.trim()) hooks.log(`[serve ${i}] ${line}`);
          },
          signal: hooks.signal,
        });
        servers.push(server);
        urls.push(server.url);
      }
    }
    const endpoints = new EndpointPool(urls, config.served_model);

    const serveArgs = [
      "--loss", config.loss, "--delta", String(config.delta), "--lr", String(config.lr), "--weight-decay", String(config.weight_decay),
      ...(config.max_grad_norm === null ? [] : ["--max-grad-norm", String(config.max_grad_norm)]),
      // disk and command syncs load the weights the learner saves after every step; NCCL sends them from memory.
      "--hf-every", config.weight_sync === "vllm-nccl" ? String(config.hf_every) : "1", "--resume-every", String(config.resume_every), "--keep-resume", String(config.keep_resume),
      ...(resumeFrom ? ["--resume-from", resumeFrom.dir] : []),
    ];
    learner = await LearnerClient.start({
      modelDir: config.model_dir,
      outDir: checkpointsDir,
      serveArgs,
      onLog: (line) => {
        if (line.trim()) hooks.log(`[learner] ${line}`);
      },
      signal: hooks.signal,
      launch: { processes: config.learner_processes, ...(config.torchrun_args ? { torchrunArgs: config.torchrun_args } : {}) },
    });
    const startStep = learner.ready.step;
    const position: TrainerPosition = startStep > 0 ? positionSchema.parse(learner.ready.data_position) : { stream: { next: 0, pending: [] }, passes: [] };
    const sync = weightSyncFor(config.weight_sync, {
      endpoints: urls,
      learner,
      ...(config.weight_sync_command === null ? {} : { command: config.weight_sync_command }),
      ...(config.nccl_master_address === null ? {} : { ncclMasterAddress: config.nccl_master_address }),
      ...(config.nccl_master_port === null ? {} : { ncclMasterPort: config.nccl_master_port }),
    });
    syncToClose = sync;
    if (config.probe_endpoints) {
      const vocabSize = await modelVocabSize(config.model_dir);
      for (const url of urls) await probeServerTokenizer({ baseUrl: url, model: config.served_model, tokenizer, vocabSize });
    }
    await sync.init();
    if (startStep > 0 && servers.length < urls.length) {
      // External endpoints serve whatever they were started with: give them the resumed weights.
      await endpoints.pauseAll("keep");
      await sync.push(startStep, resumeFrom!.dir).finally(() => endpoints.resumeAll());
    }
    await endpoints.setWeightVersion(startStep);

    let best: { step: number; mean: number } | null = null;
    for (const m of history) if (m.eval && (best === null || m.eval.mean > best.mean)) best = { step: m.step, mean: m.eval.mean };
    const evaluate = async (version: number, checkpointDir: string): Promise<StepEval> => {
      if (!hooks.runEval || config.eval_dataset === null) throw new Error("evaluation was asked for without an eval dataset");
      const jobName = `step_${version}`;
      const jobsDir = join(out, "evals");
      // A dedicated endpoint serving exactly this checkpoint: training's endpoints move on to the next weights.
      let server: ReferenceServer | null = null;
      let baseUrl = config.eval_endpoint;
      if (config.eval_endpoint === "reference") {
        server = await ReferenceServer.start({ modelDir: checkpointDir, port: 0, seed: config.seed, servedModelNames: [config.served_model], batchDecode: true, signal: hooks.signal });
        baseUrl = server.url;
      } else {
        const control = new VllmDevControl(config.eval_endpoint);
        await control.loadWeightsFromDisk(checkpointDir, String(version));
      }
      try {
        hooks.log(`evaluating step ${version} on ${config.eval_dataset} (k = ${config.eval_k}) → ${join(jobsDir, jobName)}`);
        const summary = await hooks.runEval({ dataset: config.eval_dataset, baseUrl, model: config.served_model, attempts: config.eval_k, concurrency: config.eval_concurrency, jobsDir, jobName, env: config.env, agentKwargs: config.eval_agent_kwargs });
        if (best === null || summary.mean > best.mean) {
          best = { step: version, mean: summary.mean };
          await linkTree(checkpointDir, join(out, "best"));
          await writeFileAtomic(join(out, "best.json"), JSON.stringify({ step: version, eval_mean: summary.mean, eval_sem: summary.sem, pass_at_k: summary.pass_at_k }, null, 2) + "\n");
        }
        return { mean: summary.mean, sem: summary.sem, pass_at_k: summary.pass_at_k, trials: summary.n_trials, job_dir: join(jobsDir, jobName), best_step: best.step };
      } finally {
        await server?.close();
      }
    };
    const steps = [...history];
    const trainer = new Trainer({
      config,
      tasks,
      provider: hooks.provider,
      endpoints,
      codec,
      learner,
      sync,
      checkpointsDir,
      rolloutsDir: join(out, "rollouts"),
      padTokenId,
      startStep,
      position,
      signal: hooks.signal,
      onNotice: hooks.log,
      ...(config.eval_dataset !== null && hooks.runEval ? { evaluate } : {}),
      onStep: async (m) => {
        steps.push(m);
        await appendFile(metricsFile, JSON.stringify(m) + "\n");
        if (hooks.report) await writeFile(join(out, REPORT_FILE), hooks.report(steps));
        hooks.onStep?.(m);
      },
    });
    hooks.onStart?.({ startStep, tasks: tasks.length, endpoints: urls, status: () => trainer.status() });
    await trainer.run();
    const final = await learner.save("resume", trainer.position());
    hooks.log(`resume state: ${final.path}`);
    await learner.shutdown();
    const last = steps.at(-1) ?? null;
    const checkpoint = last ? join(checkpointsDir, `step_${last.policy_version}`) : null;
    return { out, steps: steps.length, firstStep: startStep, lastMetrics: last, checkpoint: checkpoint && existsSync(checkpoint) ? checkpoint : null };
  } finally {
    await syncToClose?.close().catch(() => undefined);
    await learner?.close();
    await Promise.all(servers.map((s) => s.close()));
  }
}

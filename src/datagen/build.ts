import { existsSync, readFileSync } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import type { EnvironmentProvider } from "../environment/environment.js";
import { ModelError } from "../model/errors.js";
import type { ChatMessage, ModelClient, ModelReply } from "../model/types.js";
import { GEN_DIR, readCorpus, readSpecs } from "../store/corpus.js";
import type { ManifestEntry, TaskSpec, ValidationRecord } from "../store/corpus-schema.js";
import { writeJsonAtomic } from "../util/atomic-write.js";
import { errorMessage, errorStack } from "../util/errors.js";
import { utcIso } from "../util/time.js";
import { WorkPool, WorkSkippedError } from "../util/work-pool.js";
import { taskDirName, writeTaskDir, type GeneratedParts } from "./compose.js";
import { appendManifest } from "./corpus-write.js";
import {
  ReplyParseError,
  parseEnvironmentReply,
  parseSolutionReply,
  parseTaskReply,
  parseTestsReply,
  type EnvironmentReply,
  type TaskReply,
} from "./parse.js";
import { environmentPrompt, parseRetryPrompt, repairPrompt, solutionPrompt, taskSystemPrompt, taskUserPrompt, testsPrompt } from "./prompts.js";
import { VALIDATION_STAGES, validationStagesBefore, type LlmStage, type PipelineStage, type ValidationStage } from "./stages.js";
import type { Taxonomy } from "./taxonomy.js";
import { validateTask, type RejectReason, type ValidationFailure } from "./validate.js";

export interface BuildOptions {
  specsPath: string;
  corpusDir: string;
  taxonomy: Taxonomy;
  client: ModelClient;
  /** Model name recorded in metadata and the manifest. */
  model: string;
  provider: EnvironmentProvider;
  concurrency: number;
  /** Stop starting LLM calls once the corpus's total known cost reaches this (null = no limit). */
  budgetUsd: number | null;
  /** Validation repair rounds per task (the failing stage gets the error back). */
  maxRepairs: number;
  /** Re-asks after a reply that does not parse, per stage call. */
  maxParseRetries: number;
  maxTokens: number;
  /** $ per million tokens, for servers that do not report cost. */
  prices: { input: number; output: number } | null;
  signal: AbortSignal;
  events?: BuildEvents;
}

export interface BuildEvents {
  onPlan?(info: { total: number; done: number; accepted: number; rejected: number; costUsd: number }): void;
  onSpecStart?(spec: TaskSpec): void;
  onSpecStep?(spec: TaskSpec, step: string): void;
  onSpecEnd?(entry: ManifestEntry): void;
  onCost?(totalUsd: number): void;
  onLog?(line: string): void;
}

export interface BuildSummary {
  total: number;
  accepted: number;
  rejected: number;
  pending: number;
  costUsd: number;
  stoppedBy: "done" | "budget" | "interrupted" | "fatal";
  fatal: string | null;
  rejections: Record<string, number>;
}

/** A spec's work in progress, checkpointed after every LLM call: a rerun continues from here. */
interface SpecState {
  spec: TaskSpec;
  conversations: Partial<Record<LlmStage, ChatMessage[]>>;
  outputs: { task?: TaskReply; environment?: EnvironmentReply; tests?: { finalTest: string }; solution?: { solveSh: string } };
  calls: Record<string, number>;
  tokens: { prompt: number; completion: number };
  costUsd: number | null;
  generationS: number;
  validationS: number;
  repairs: number;
  rounds: number;
  lastFailure: ValidationFailure | null;
  /** Pending repair: the stage whose conversation must answer the last validation failure. */
  repairStage: LlmStage | null;
}

class BudgetExhausted extends Error {}
class FatalModelError extends Error {}
class Rejected extends Error {
  constructor(
    readonly reason: string,
    readonly stage: string,
    readonly detail: string,
  ) {
    super(`${reason}: ${detail}`);
  }
}

/** Errors that would fail every spec the same way: stop the whole build (a rerun continues). */
function isFatal(err: ModelError): boolean {
  return err.kind === "authentication" || err.kind === "permission" || err.kind === "not_found" || err.kind === "unsupported_parameter" || err.name === "ModelUnavailableError";
}

const STAGE_TEMPERATURE: Record<LlmStage, number> = { task: 1.0, environment: 0.6, tests: 0.6, solution: 0.6 };

/** The validation stage at which each rejection reason of validateTask fails. */
const FAILS_AT: Record<RejectReason, ValidationStage> = {
  build_failed: "build",
  initial_tests_failed: "initial_tests",
  answers_in_image: "initial_tests",
  tests_broken: "nop",
  tests_pass_without_solution: "nop",
  solution_fails: "oracle",
};

function environmentText(env: EnvironmentReply): string {
  const files = Object.entries(env.files).map(([p, c]) => `--- ${p} ---\n${c}`);
  return [`--- Dockerfile (after the fixed preamble) ---\n${env.dockerfileBody}`, ...files].join("\n");
}

/** Builds a corpus: every spec of the specs file not yet in the manifest is generated, validated and recorded. */
export async function buildCorpus(o: BuildOptions): Promise<BuildSummary> {
  const specs = readSpecs(o.specsPath);
  const workRoot = join(o.corpusDir, GEN_DIR);
  await mkdir(workRoot, { recursive: true });
  const manifest = readCorpus(o.corpusDir).manifest();

  let corpusCost = [...manifest.values()].reduce((s, e) => s + (e.cost_usd ?? 0), 0);
  const inFlightCost = new Map<string, number>();
  const totalCost = (): number => corpusCost + [...inFlightCost.values()].reduce((a, b) => a + b, 0);
  const summary: BuildSummary = {
    total: specs.length,
    accepted: [...manifest.values()].filter((e) => e.status === "accepted").length,
    rejected: [...manifest.values()].filter((e) => e.status === "rejected").length,
    pending: 0,
    costUsd: 0,
    stoppedBy: "done",
    fatal: null,
    rejections: {},
  };
  for (const e of manifest.values()) if (e.reason) summary.rejections[e.reason] = (summary.rejections[e.reason] ?? 0) + 1;
  const queue = specs.filter((s) => !manifest.has(s.id));
  o.events?.onPlan?.({ total: specs.length, done: specs.length - queue.length, accepted: summary.accepted, rejected: summary.rejected, costUsd: corpusCost });
  /** Why admission stopped early (the pool is closed then: queued specs stay pending). */
  let stop: "budget" | "fatal" | null = null;

  const costOf = (r: ModelReply): number | null => {
    if (r.usage.costUsd != null) return r.usage.costUsd;
    if (!o.prices) return null;
    return (r.usage.promptTokens * o.prices.input + r.usage.completionTokens * o.prices.output) / 1e6;
  };

  const generateOne = async (spec: TaskSpec): Promise<void> => {
    const work = join(workRoot, spec.id);
    const statePath = join(work, "state.json");
    await mkdir(work, { recursive: true });
    const state: SpecState = existsSync(statePath)
      ? (JSON.parse(readFileSync(statePath, "utf8")) as SpecState)
      : {
          spec,
          conversations: {},
          outputs: {},
          calls: {},
          tokens: { prompt: 0, completion: 0 },
          costUsd: null,
          generationS: 0,
          validationS: 0,
          repairs: 0,
          rounds: 0,
          lastFailure: null,
          repairStage: null,
        };
    const save = (): Promise<void> => writeJsonAtomic(statePath, state);
    const started = performance.now();
    const stagesPassed: PipelineStage[] = [];

    /** One model call in a stage's conversation, re-asked (bounded) while the reply does not parse. */
    const converse = async <T>(stage: LlmStage, parse: (text: string) => T): Promise<T> => {
      const messages = state.conversations[stage]!;
      for (let parseTry = 0; ; parseTry++) {
        if (o.signal.aborted) throw o.signal.reason;
        if (o.budgetUsd != null && totalCost() >= o.budgetUsd) throw new BudgetExhausted();
        o.events?.onSpecStep?.(spec, `${stage}${parseTry > 0 ? " (re-ask)" : ""}`);
        let reply: ModelReply;
        try {
          reply = await o.client.complete(messages, [], { temperature: STAGE_TEMPERATURE[stage], max_tokens: o.maxTokens }, o.signal);
        } catch (err) {
          if (o.signal.aborted) throw o.signal.reason;
          if (err instanceof ModelError && isFatal(err)) throw new FatalModelError(err.message);
          throw new Rejected(`llm_error:${err instanceof ModelError ? err.kind : "unknown"}`, stage, errorMessage(err));
        }
        state.calls[stage] = (state.calls[stage] ?? 0) + 1;
        state.tokens.prompt += reply.usage.promptTokens;
        state.tokens.completion += reply.usage.completionTokens;
        const cost = costOf(reply);
        if (cost != null) state.costUsd = (state.costUsd ?? 0) + cost;
        inFlightCost.set(spec.id, state.costUsd ?? 0);
        o.events?.onCost?.(totalCost());
        state.generationS += reply.latencySec;
        const text = reply.message.content ?? "";
        messages.push({ role: "assistant", content: text });
        try {
          const parsed = parse(text);
          await save();
          return parsed;
        } catch (err) {
          if (!(err instanceof ReplyParseError)) throw err;
          if (parseTry >= o.maxParseRetries) {
            await save();
            throw new Rejected(`parse_error:${stage}`, stage, err.message);
          }
          messages.push({ role: "user", content: parseRetryPrompt(err.message) });
          await save();
        }
      }
    };

    // Every stage's conversation shares the task author's system prompt.
    const system = taskSystemPrompt(o.taxonomy, spec);
    const start = (stage: LlmStage, user: string): void => {
      state.conversations[stage] ??= [
        { role: "system", content: system },
        { role: "user", content: user },
      ];
    };

    let entryStatus: "accepted" | "rejected" = "rejected";
    let reason: string | null = null;
    let failedStage: string | null = null;
    let detail: string | null = null;
    let taskName: string | null = null;
    let validation: ValidationRecord | null = null;
    try {
      // Generation: each stage once (skipped when a checkpoint already holds its output).
      if (!state.outputs.task) {
        start("task", taskUserPrompt(o.taxonomy, spec));
        state.outputs.task = await converse("task", parseTaskReply);
      }
      stagesPassed.push("task");
      const t = state.outputs.task;
      if (!state.outputs.environment) {
        start("environment", environmentPrompt(spec, t.instruction, t.truth));
        state.outputs.environment = await converse("environment", parseEnvironmentReply);
      }
      stagesPassed.push("environment");
      if (!state.outputs.tests) {
        const env = state.outputs.environment;
        start("tests", testsPrompt(t.instruction, t.truth, environmentText(env), env.initialTest));
        state.outputs.tests = await converse("tests", parseTestsReply);
      }
      stagesPassed.push("tests");
      if (!state.outputs.solution) {
        const env = state.outputs.environment;
        start("solution", solutionPrompt(t.instruction, t.truth, environmentText(env), state.outputs.tests.finalTest));
        state.outputs.solution = await converse("solution", parseSolutionReply);
      }
      stagesPassed.push("solution");
      await save();

      // Validation, with bounded repair rounds sent back to the stage at fault.
      for (;;) {
        if (state.repairStage && state.lastFailure) {
          // A repair requested before an interruption: ask for it now.
          await repair(state.repairStage, state.lastFailure);
        }
        const parts = state.outputs as GeneratedParts;
        const draft = join(work, "task");
        await writeTaskDir(draft, spec, parts, { model: o.model, costUsd: state.costUsd, promptTokens: state.tokens.prompt, completionTokens: state.tokens.completion, validation: null });
        state.rounds++;
        o.events?.onSpecStep?.(spec, `validating (round ${state.rounds})`);
        const v0 = performance.now();
        const outcome = await validateTask(draft, o.provider, { workDir: join(work, `validation-${state.rounds}`), signal: o.signal, round: state.rounds, repairs: state.repairs });
        state.validationS += (performance.now() - v0) / 1000;
        validation = outcome.record;
        if (outcome.ok) break;
        state.lastFailure = outcome.failure;
        if (state.repairs >= o.maxRepairs) {
          throw new Rejected(outcome.failure.reason, outcome.failure.stage, `${outcome.failure.problem}\n${outcome.failure.details}`);
        }
        state.repairs++;
        state.repairStage = outcome.failure.stage;
        await save();
      }
      stagesPassed.push(...VALIDATION_STAGES);

      // Accepted: the final task dir appears in the corpus in one rename.
      const name = taskDirName(spec);
      const staging = join(o.corpusDir, `.${name}.tmp`);
      await writeTaskDir(staging, spec, state.outputs as GeneratedParts, {
        model: o.model,
        costUsd: state.costUsd,
        promptTokens: state.tokens.prompt,
        completionTokens: state.tokens.completion,
        validation,
      });
      await rm(join(o.corpusDir, name), { recursive: true, force: true });
      await rename(staging, join(o.corpusDir, name));
      entryStatus = "accepted";
      taskName = name;
    } catch (err) {
      if (err instanceof Rejected) {
        reason = err.reason;
        failedStage = err.stage;
        detail = err.detail.slice(0, 4000);
        if (state.lastFailure && err.reason === state.lastFailure.reason) {
          // Record how far validation got.
          stagesPassed.push(...validationStagesBefore(FAILS_AT[state.lastFailure.reason]));
        }
      } else {
        await save().catch(() => undefined);
        throw err;
      }
    } finally {
      inFlightCost.delete(spec.id);
    }

    const entry: ManifestEntry = {
      spec_id: spec.id,
      index: spec.index,
      status: entryStatus,
      reason,
      stage: failedStage,
      detail,
      task: taskName,
      model: o.model,
      tokens: { ...state.tokens },
      cost_usd: state.costUsd,
      timings: {
        generation_s: Math.round(state.generationS * 10) / 10,
        validation_s: Math.round(state.validationS * 10) / 10,
        total_s: Math.round(((performance.now() - started) / 1000) * 10) / 10,
      },
      calls: { ...state.calls },
      repairs: state.repairs,
      validation,
      stages_passed: stagesPassed,
      spec,
      finished_at: utcIso(),
    };
    appendManifest(o.corpusDir, entry);
    corpusCost += state.costUsd ?? 0;
    if (entry.status === "accepted") summary.accepted++;
    else {
      summary.rejected++;
      summary.rejections[reason!] = (summary.rejections[reason!] ?? 0) + 1;
    }
    o.events?.onSpecEnd?.(entry);

    async function repair(stage: LlmStage, failure: ValidationFailure): Promise<void> {
      const messages = state.conversations[stage]!;
      messages.push({ role: "user", content: repairPrompt(failure.problem, failure.details) });
      state.repairStage = null;
      if (stage === "environment") state.outputs.environment = await converse("environment", parseEnvironmentReply);
      else if (stage === "tests") state.outputs.tests = await converse("tests", parseTestsReply);
      else if (stage === "solution") state.outputs.solution = await converse("solution", parseSolutionReply);
      await save();
    }
  };

  const pool = new WorkPool({ concurrency: Math.max(1, Math.min(o.concurrency, queue.length)), signal: o.signal });
  const generate = async (spec: TaskSpec): Promise<void> => {
    o.events?.onSpecStart?.(spec);
    await generateOne(spec);
  };
  await Promise.all(
    queue.map((spec) =>
      pool.run(() => generate(spec)).catch((err: unknown) => {
        summary.pending++;
        if (err instanceof WorkSkippedError) return; // never started: the budget, a fatal error or Ctrl-C came first
        if (err instanceof BudgetExhausted) {
          stop ??= "budget";
          pool.close("the budget is spent");
        } else if (err instanceof FatalModelError) {
          stop ??= "fatal";
          summary.fatal = err.message;
          pool.close(err.message);
        } else if (!o.signal.aborted) {
          o.events?.onLog?.(`${spec.id}: internal error: ${errorStack(err)}`);
        }
      }),
    ),
  );
  summary.costUsd = totalCost();
  summary.stoppedBy = o.signal.aborted ? "interrupted" : (stop ?? "done");
  return summary;
}

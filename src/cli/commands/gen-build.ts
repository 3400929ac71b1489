import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import pc from "picocolors";
import { handleInterrupts } from "../interrupts.js";
import { buildCorpus } from "../../datagen/build.js";
import { loadTaxonomy, DEFAULT_TAXONOMY_PATH } from "../../datagen/taxonomy.js";
import type { EnvironmentProvider } from "../../environment/environment.js";
import type { EnvironmentKind } from "../../environment/providers.js";
import { openJobEngines } from "../engine.js";
import { OpenAIChatClient } from "../../model/openai-client.js";
import { GenProgress } from "../../ui/gen-progress.js";
import { EXIT, UsageError, type ExitCode } from "../exit-codes.js";

export interface GenBuildOptions {
  output: string;
  model?: string;
  baseUrl?: string;
  apiKey?: string;
  concurrency: number;
  budgetUsd?: number;
  maxRepairs: number;
  maxParseRetries: number;
  maxTokens: number;
  inputCostPerMtok?: number;
  outputCostPerMtok?: number;
  requestTimeout: number;
  taxonomy?: string;
  env: EnvironmentKind;
  /** Engine API URLs (`--engine`, repeatable): containers spread over them; none = the default engine. */
  engine: string[];
  quiet: boolean;
}

/** `tmax gen build`: generate, validate in containers, and keep the tasks that prove solvable and non-trivial. */
export async function genBuildCommand(specsPath: string, o: GenBuildOptions): Promise<ExitCode> {
  const baseUrl = o.baseUrl ?? process.env.OPENAI_BASE_URL;
  if (!o.model) throw new UsageError("give the generator model with -m");
  if (!baseUrl) throw new UsageError("no model server given: pass --base-url http://host:port/v1 or set OPENAI_BASE_URL");
  const taxonomy = loadTaxonomy(o.taxonomy ?? DEFAULT_TAXONOMY_PATH);
  const prices = o.inputCostPerMtok != null || o.outputCostPerMtok != null ? { input: o.inputCostPerMtok ?? 0, output: o.outputCostPerMtok ?? 0 } : null;
  if (o.budgetUsd != null && !prices) {
    console.error(pc.yellow("note: --budget-usd counts only costs the server reports; pass --input-cost-per-mtok/--output-cost-per-mtok to price tokens"));
  }
  const corpusDir = resolve(o.output);
  mkdirSync(corpusDir, { recursive: true });
  const client = new OpenAIChatClient({
    baseUrl,
    apiKey: o.apiKey ?? process.env.OPENAI_API_KEY,
    model: o.model,
    requestTimeoutSec: o.requestTimeout,
  });

  let provider: EnvironmentProvider | null = null;
  const interrupts = handleInterrupts("stopping; work so far is kept — rerun the same command to continue", async () => provider?.close());
  let progress: GenProgress | null = null;
  try {
    provider = await openJobEngines(o.env, o.engine, interrupts.signal);
    const summary = await buildCorpus({
      specsPath: resolve(specsPath),
      corpusDir,
      taxonomy,
      client,
      model: o.model,
      provider,
      concurrency: o.concurrency,
      budgetUsd: o.budgetUsd ?? null,
      maxRepairs: o.maxRepairs,
      maxParseRetries: o.maxParseRetries,
      maxTokens: o.maxTokens,
      prices,
      signal: interrupts.signal,
      events: {
        onPlan: (p) => {
          if (o.quiet) return;
          progress = new GenProgress(p.total, p.done, { accepted: p.accepted, rejected: p.rejected, costUsd: p.costUsd });
          if (p.done > 0) progress.message(`${p.done} of ${p.total} specs already finished (${p.accepted} accepted); continuing`);
          progress.start();
        },
        onSpecStep: (spec, step) => progress?.specStep(spec.id, step),
        onSpecEnd: (e) => progress?.specEnd(e),
        onCost: (usd) => progress?.setCost(usd),
        onLog: (line) => progress?.message(pc.dim(line)),
      },
    });
    (progress as GenProgress | null)?.stop();
    const reasons = Object.entries(summary.rejections)
      .sort((a, b) => b[1] - a[1])
      .map(([r, n]) => `${r} ${n}`)
      .join(", ");
    console.log(
      `${summary.accepted} accepted, ${summary.rejected} rejected${reasons ? ` (${reasons})` : ""}, ${summary.pending} pending of ${summary.total} specs; ` +
        `cost $${summary.costUsd.toFixed(4)} → ${corpusDir}`,
    );
    if (summary.stoppedBy === "budget") console.log(pc.yellow(`stopped: the budget of $${o.budgetUsd} is spent; raise --budget-usd and rerun to continue`));
    if (summary.stoppedBy === "fatal") console.log(pc.red(`stopped: ${summary.fatal}`));
    if (summary.stoppedBy === "interrupted") console.log(pc.yellow("interrupted: rerun the same command to continue"));
    return summary.stoppedBy === "fatal" ? EXIT.failure : summary.stoppedBy === "interrupted" ? EXIT.interrupted : EXIT.ok;
  } finally {
    interrupts.dispose();
    await provider?.close();
  }
}

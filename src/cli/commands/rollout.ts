import { resolve } from "node:path";
import pc from "picocolors";
import type { EnvironmentProvider } from "../../environment/environment.js";
import type { EnvironmentKind } from "../../environment/providers.js";
import { CompletionsTokenClient } from "../../model/completions-client.js";
import { loadHfTokenizer } from "../../model/hf/hf-tokenizer.js";
import { promptCodecFor, toolCallFormatOf } from "../../rl/prompt-codec.js";
import type { Rollout } from "../../rl/rollout.js";
import { RECIPE_ROLLOUT_SETTINGS, runRollout } from "../../rl/rollout-runner.js";
import { writeRollouts } from "../../rl/rollout-store.js";
import { showRollout } from "../../rl/rollout-view.js";
import { loadTask } from "../../task/task.js";
import { WorkPool } from "../../util/work-pool.js";
import { openJobEngines } from "../engine.js";
import { EXIT, UsageError, type ExitCode } from "../exit-codes.js";
import { handleInterrupts } from "../interrupts.js";

export interface RolloutCliOptions {
  path: string;
  modelDir: string;
  baseUrl: string;
  model?: string;
  apiKey?: string;
  samples: number;
  concurrency: number;
  out: string;
  group?: string;
  policyVersion: number;
  temperature: number;
  topP: number;
  seed: number;
  maxTurnTokens: number;
  maxResponseTokens: number;
  show: boolean;
  json: boolean;
  env: EnvironmentKind;
  /** Engine API URLs (`--engine`, repeatable): containers spread over them; none = the default engine. */
  engine: string[];
}

/**
 * `tmax rollout`: G token-in/token-out episodes of one task against an inference server, written as rollout files
 * (rollouts.json + rollouts.bin) under OUT — exactly what the learner would train on. `--show` prints each with the
 * trained spans marked.
 */
export async function rolloutCommand(o: RolloutCliOptions): Promise<ExitCode> {
  const task = await loadTask(resolve(o.path)).catch((err: unknown) => {
    throw new UsageError((err as Error).message);
  });
  if (task.steps) throw new UsageError(`${o.path}: a multi-step task ([[steps]]); a rollout runs one instruction`);
  const tokenizer = await loadHfTokenizer(resolve(o.modelDir)).catch((err: unknown) => {
    throw new UsageError(`--model-dir ${o.modelDir}: ${(err as Error).message}`);
  });
  const codec = promptCodecFor(tokenizer);
  const client = new CompletionsTokenClient({ baseUrl: o.baseUrl, model: o.model ?? "default", apiKey: o.apiKey ?? process.env.OPENAI_API_KEY ?? null });
  const groupId = o.group ?? `${task.name}-${Date.now().toString(36)}`;
  const out = resolve(o.out);
  const budgets = { ...RECIPE_ROLLOUT_SETTINGS.budgets, turn: o.maxTurnTokens, response: o.maxResponseTokens };
  const settings = { ...RECIPE_ROLLOUT_SETTINGS, temperature: o.temperature, topP: o.topP, seedBase: o.seed, budgets };
  let provider: EnvironmentProvider | null = null;
  const interrupts = handleInterrupts("stopping the rollouts and removing their containers…", async () => provider?.close());
  try {
    provider = await openJobEngines(o.env, o.engine, interrupts.signal);
    console.error(
      pc.dim(`${o.samples} rollout(s) of ${task.name} · ${toolCallFormatOf(tokenizer)} calls · group ${groupId} · policy version ${o.policyVersion} → ${out}`),
    );
    const pool = new WorkPool({ concurrency: o.concurrency, signal: interrupts.signal });
    const rollouts: Rollout[] = [];
    const deps = { provider, client, codec, settings, logsDir: resolve(out, "logs"), signal: interrupts.signal };
    await Promise.all(
      Array.from({ length: o.samples }, (_, j) =>
        pool.run(async () => {
          const r = await runRollout({ task, groupId, sampleIndex: j, policyVersion: o.policyVersion }, deps);
          rollouts.push(r);
          console.error(`${r.ending === "infra_error" ? pc.red("✗") : pc.green("✓")} sample ${j}: ${r.ending}, reward ${r.reward ?? "none"}${r.error ? pc.dim(` (${r.error})`) : ""}`);
        }),
      ),
    ).catch((err: unknown) => {
      if (!interrupts.signal.aborted) throw err;
    });
    pool.close();
    if (interrupts.signal.aborted) return EXIT.interrupted;
    rollouts.sort((a, b) => a.sampleIndex - b.sampleIndex);
    await writeRollouts(out, rollouts);
    if (o.show) for (const r of rollouts) console.log(showRollout(r, (ids) => codec.decode(ids)) + "\n");
    const summary = rollouts.map((r) => ({
      sample: r.sampleIndex,
      ending: r.ending,
      reward: r.reward,
      prompt_tokens: r.promptIds.length,
      response_tokens: r.responseIds.length,
      trained_tokens: r.lossMask.reduce((n, m) => n + m, 0),
      turns: r.turns.length,
    }));
    if (o.json) console.log(JSON.stringify({ dir: out, group: groupId, rollouts: summary }, null, 2));
    else if (!o.show) console.log(`${rollouts.length} rollout(s) written to ${out}; mean reward ${meanReward(rollouts)}`);
    return rollouts.some((r) => r.ending === "infra_error") ? EXIT.failure : EXIT.ok;
  } finally {
    interrupts.dispose();
    await provider?.close();
  }
}

function meanReward(rollouts: readonly Rollout[]): string {
  const scored = rollouts.filter((r) => r.reward !== null);
  return scored.length === 0 ? "–" : (scored.reduce((s, r) => s + r.reward!, 0) / scored.length).toFixed(3);
}

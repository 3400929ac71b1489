import { join } from "node:path";
import type { ChatMessage, ModelUsage } from "../../model/types.js";
import { splitReasoning } from "../../model/tool-calls.js";
import { writeFileAtomic } from "../../util/atomic-write.js";
import { utcIso } from "../../util/time.js";

export type TimingEntry =
  | { step: number; llm_s: number; bash_s: number; return_code: number; cmd: string }
  | { step: number; llm_s: number; format_error: true };

export interface UsageTotals {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  reasoning_tokens: number;
  cached_tokens: number;
  cost_usd: number | null;
  max_steps: number;
  exit_status: string;
}

/** Per-assistant-message facts the chat history itself does not hold (for ATIF). */
interface TurnMeta {
  timestamp: string;
  usage: ModelUsage;
  costUsd: number | null;
}

const round1 = (x: number): number => Math.round(x * 10) / 10;

/**
 * Everything one run produces: the exact chat history, per-step timings and token usage. Written to the agent's
 * log folder as trajectory.json (the message array), trajectory.atif.json (Harbor's ATIF), timing.json, usage.json.
 */
export class RunRecord {
  readonly messages: ChatMessage[] = [];
  readonly timing: TimingEntry[] = [];
  private readonly turns = new Map<ChatMessage, TurnMeta>();
  private readonly timestamps = new Map<ChatMessage, string>();
  readonly usage: UsageTotals;

  constructor(
    private readonly agent: { name: string; version: string; model: string },
    maxSteps: number,
  ) {
    this.usage = {
      prompt_tokens: 0,
      completion_tokens: 0,
      total_tokens: 0,
      reasoning_tokens: 0,
      cached_tokens: 0,
      cost_usd: null,
      max_steps: maxSteps,
      exit_status: "running",
    };
  }

  add(message: ChatMessage): void {
    this.messages.push(message);
    this.timestamps.set(message, utcIso());
  }

  addAssistant(message: ChatMessage, usage: ModelUsage, costUsd: number | null): void {
    this.add(message);
    this.turns.set(message, { timestamp: this.timestamps.get(message)!, usage, costUsd });
    this.usage.prompt_tokens += usage.promptTokens;
    this.usage.completion_tokens += usage.completionTokens;
    this.usage.total_tokens = this.usage.prompt_tokens + this.usage.completion_tokens;
    this.usage.reasoning_tokens += usage.reasoningTokens;
    this.usage.cached_tokens += usage.cachedTokens;
    if (costUsd != null) this.usage.cost_usd = (this.usage.cost_usd ?? 0) + costUsd;
  }

  addStep(step: number, llmSec: number, bashSec: number, returnCode: number, command: string): void {
    this.timing.push({ step, llm_s: round1(llmSec), bash_s: round1(bashSec), return_code: returnCode, cmd: command.slice(0, 200) });
  }

  addFormatError(step: number, llmSec: number): void {
    this.timing.push({ step, llm_s: round1(llmSec), format_error: true });
  }

  /** Harbor's Agent Trajectory Interchange Format (ATIF-v1.4). */
  toAtif(): Record<string, unknown> {
    const steps: Record<string, unknown>[] = [];
    const toolResults = new Map<string, string>();
    for (const m of this.messages) if (m.role === "tool" && m.tool_call_id) toolResults.set(m.tool_call_id, m.content ?? "");
    for (const m of this.messages) {
      if (m.role === "tool") continue;
      const step: Record<string, unknown> = { step_id: steps.length + 1, timestamp: this.timestamps.get(m) };
      if (m.role === "assistant") {
        const meta = this.turns.get(m);
        const { reasoning, text } = splitReasoning(m);
        step.source = "agent";
        step.message = text;
        step.model_name = this.agent.model;
        if (reasoning) step.reasoning_content = reasoning;
        const calls = m.tool_calls ?? [];
        if (calls.length > 0) {
          step.tool_calls = calls.map((c) => {
            let args: unknown;
            try {
              args = JSON.parse(c.function.arguments);
            } catch {
              args = { raw: c.function.arguments };
            }
            return { tool_call_id: c.id, function_name: c.function.name, arguments: args };
          });
          const results = calls
            .filter((c) => toolResults.has(c.id))
            .map((c) => ({ source_call_id: c.id, content: toolResults.get(c.id)! }));
          if (results.length > 0) step.observation = { results };
        }
        if (meta) {
          step.metrics = {
            prompt_tokens: meta.usage.promptTokens,
            completion_tokens: meta.usage.completionTokens,
            cached_tokens: meta.usage.cachedTokens,
            ...(meta.costUsd != null ? { cost_usd: meta.costUsd } : {}),
          };
        }
      } else {
        step.source = m.role === "system" ? "system" : "user";
        step.message = m.content ?? "";
      }
      steps.push(step);
    }
    return {
      schema_version: "ATIF-v1.4",
      agent: { name: this.agent.name, version: this.agent.version, model_name: this.agent.model },
      steps,
      final_metrics: {
        total_prompt_tokens: this.usage.prompt_tokens,
        total_completion_tokens: this.usage.completion_tokens,
        total_cached_tokens: this.usage.cached_tokens,
        ...(this.usage.cost_usd != null ? { total_cost_usd: this.usage.cost_usd } : {}),
        total_steps: steps.length,
      },
      extra: { exit_status: this.usage.exit_status },
    };
  }

  async write(dir: string): Promise<void> {
    await Promise.all([
      writeFileAtomic(join(dir, "trajectory.json"), JSON.stringify(this.messages, null, 2) + "\n"),
      writeFileAtomic(join(dir, "trajectory.atif.json"), JSON.stringify(this.toAtif(), null, 2) + "\n"),
      writeFileAtomic(join(dir, "timing.json"), JSON.stringify(this.timing, null, 2) + "\n"),
      writeFileAtomic(join(dir, "usage.json"), JSON.stringify(this.usage, null, 2) + "\n"),
    ]);
  }
}

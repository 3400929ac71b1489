import { join } from "node:path";
import { splitReasoning } from "../../model/tool-calls.js";
import { atifJsonText } from "../../harbor/json-text.js";
import { writeFileAtomic } from "../../util/atomic-write.js";
import { episodeMessages, type Episode } from "./episode.js";

/**
 * The files a tmax-agent run leaves in /logs/agent: trajectory.json (Harbor's ATIF-v1.4, as Harbor's own agents
 * write it: its viewer, trace export and analyzers read it), chat-messages.json (the exact chat messages),
 * timing.json (one entry per step) and usage.json (token totals and how the run ended).
 */

/** Harbor's name for an agent's trajectory: the ATIF document. */
export const TRAJECTORY_FILE = "trajectory.json";
/** The exact chat messages the agent exchanged. */
export const CHAT_MESSAGES_FILE = "chat-messages.json";
/**
 * Where tmax versions before this layout kept the ATIF (their trajectory.json held the chat messages); read, never
 * written.
 */
export const LEGACY_ATIF_FILE = "trajectory.atif.json";

export type TimingEntry =
  | { step: number; llm_s: number; bash_s: number; return_code: number; cmd: string }
  | { step: number; llm_s: number; format_error: true };

export interface UsageFile {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  reasoning_tokens: number;
  cached_tokens: number;
  cost_usd: number | null;
  max_steps: number;
  exit_status: string;
}

const round1 = (x: number): number => Math.round(x * 10) / 10;

/** How usage.json and agent_result name an episode's ending: the ending, or `error: <exception type>`. */
export function exitStatusOf(episode: Pick<Episode, "ending" | "error">): string {
  if (episode.ending !== "error") return episode.ending;
  const e = episode.error;
  return `error: ${e instanceof Error ? e.name : "Error"}`;
}

export function timingOf(episode: Episode): TimingEntry[] {
  return episode.steps.map((s) =>
    s.kind === "command"
      ? { step: s.step, llm_s: round1(s.llmSec), bash_s: round1(s.bashSec), return_code: s.exitCode, cmd: s.command.slice(0, 200) }
      : { step: s.step, llm_s: round1(s.llmSec), format_error: true as const },
  );
}

export function usageOf(episode: Episode, maxSteps: number): UsageFile {
  const u = episode.usage;
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.promptTokens + u.completionTokens,
    reasoning_tokens: u.reasoningTokens,
    cached_tokens: u.cachedTokens,
    cost_usd: u.costUsd,
    max_steps: maxSteps,
    exit_status: exitStatusOf(episode),
  };
}

/** Harbor's Agent Trajectory Interchange Format (ATIF-v1.4) of an episode. */
export function atifOf(episode: Episode, agent: { name: string; version: string; model: string }): Record<string, unknown> {
  const steps: Record<string, unknown>[] = [];
  const toolResults = new Map<string, string>();
  for (const { message: m } of episode.entries) if (m.role === "tool" && m.tool_call_id) toolResults.set(m.tool_call_id, m.content ?? "");
  for (const { message: m, at, turn } of episode.entries) {
    if (m.role === "tool") continue;
    const step: Record<string, unknown> = { step_id: steps.length + 1, timestamp: at };
    if (m.role === "assistant") {
      const { reasoning, text } = splitReasoning(m);
      step.source = "agent";
      step.message = text;
      step.model_name = agent.model;
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
        const results = calls.filter((c) => toolResults.has(c.id)).map((c) => ({ source_call_id: c.id, content: toolResults.get(c.id)! }));
        if (results.length > 0) step.observation = { results };
      }
      if (turn) {
        const t = turn.tokens;
        step.metrics = {
          prompt_tokens: turn.usage.promptTokens,
          completion_tokens: turn.usage.completionTokens,
          cached_tokens: turn.usage.cachedTokens,
          ...(turn.costUsd != null ? { cost_usd: turn.costUsd } : {}),
          ...(t?.promptTokenIds ? { prompt_token_ids: t.promptTokenIds } : {}),
          ...(t?.completionTokenIds ? { completion_token_ids: t.completionTokenIds } : {}),
          ...(t?.logprobs ? { logprobs: t.logprobs } : {}),
        };
      }
    } else {
      step.source = m.role === "system" ? "system" : "user";
      step.message = m.content ?? "";
    }
    steps.push(step);
  }
  const u = episode.usage;
  return {
    schema_version: "ATIF-v1.4",
    agent: { name: agent.name, version: agent.version, model_name: agent.model },
    steps,
    final_metrics: {
      total_prompt_tokens: u.promptTokens,
      total_completion_tokens: u.completionTokens,
      total_cached_tokens: u.cachedTokens,
      ...(u.costUsd != null ? { total_cost_usd: u.costUsd } : {}),
      total_steps: steps.length,
    },
    extra: { exit_status: exitStatusOf(episode) },
  };
}

/** Writes the four files into `dir` (each atomically). */
export async function writeTrajectoryFiles(
  dir: string,
  episode: Episode,
  info: { agent: { name: string; version: string; model: string }; maxSteps: number },
): Promise<void> {
  const json = (v: unknown): string => JSON.stringify(v, null, 2) + "\n";
  await Promise.all([
    writeFileAtomic(join(dir, TRAJECTORY_FILE), atifJsonText(atifOf(episode, info.agent))),
    writeFileAtomic(join(dir, CHAT_MESSAGES_FILE), json(episodeMessages(episode))),
    writeFileAtomic(join(dir, "timing.json"), json(timingOf(episode))),
    writeFileAtomic(join(dir, "usage.json"), json(usageOf(episode, info.maxSteps))),
  ]);
}

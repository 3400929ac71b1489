import type { StepTiming } from "../store/trial.js";
import type { AtifDocument, ChatMessageDoc, Trajectory } from "../store/trajectory.js";
import type { StepView, ToolCallView, TrajectoryResponse } from "./api-types.js";

/**
 * Trajectories as one list of steps, whatever wrote them: Harbor's ATIF (any Harbor agent, and tmax's
 * trajectory.json) or tmax's exact chat messages. A step is a system/user message or an agent turn: its reasoning,
 * its message, its tool calls each with the observation it got back and the exit code found in that observation.
 * tmax's timing.json (one entry per agent command or format error) adds model and bash seconds to agent steps.
 */

/** tmax writes "(exit_code=N)"; Harbor's terminus writes "exit code N" / "Exit code: N" in some versions. */
export function exitCodeIn(observation: string | null): number | null {
  if (!observation) return null;
  const m = /\(exit_code=(-?\d+)\)\s*$/.exec(observation) ?? /exit[ _]code[:=]?\s*(-?\d+)/i.exec(observation.slice(-200));
  return m ? Number(m[1]) : null;
}

function text(content: unknown): string {
  if (content == null) return "";
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.map((p) => (typeof p === "object" && p !== null && typeof (p as { text?: unknown }).text === "string" ? (p as { text: string }).text : JSON.stringify(p))).join("\n");
  return JSON.stringify(content, null, 2);
}

/** A bash call's command; any other call's arguments as JSON. */
function commandOf(args: unknown): string {
  let value = args;
  if (typeof args === "string") {
    try {
      value = JSON.parse(args);
    } catch {
      return args;
    }
  }
  if (typeof value === "object" && value !== null && typeof (value as { command?: unknown }).command === "string") return (value as { command: string }).command;
  return JSON.stringify(value, null, 2);
}

function emptyStep(index: number, source: string): StepView {
  return { index, source, message: "", reasoning: null, calls: [], promptTokens: null, completionTokens: null, llmSec: null, bashSec: null, timestamp: null };
}

function atifSteps(doc: AtifDocument): StepView[] {
  return doc.steps.map((s, i) => {
    const results = new Map((s.observation?.results ?? []).map((r) => [r.source_call_id ?? "", text(r.content)]));
    const calls: ToolCallView[] = (s.tool_calls ?? []).map((c) => {
      const observation = results.get(c.tool_call_id) ?? null;
      return { name: c.function_name, command: commandOf(c.arguments), observation, exitCode: exitCodeIn(observation) };
    });
    // Observations not tied to a call (some agents leave source_call_id empty) still show.
    if (calls.length === 0 && results.size > 0) calls.push({ name: "observation", command: "", observation: [...results.values()].join("\n"), exitCode: null });
    return {
      ...emptyStep(i + 1, s.source),
      message: text(s.message),
      reasoning: s.reasoning_content ?? null,
      calls,
      promptTokens: s.metrics?.prompt_tokens ?? null,
      completionTokens: s.metrics?.completion_tokens ?? null,
      timestamp: s.timestamp ?? null,
    };
  });
}

/** Reasoning of a chat message: a reasoning field, or a leading <think> block of its content. */
function splitThink(m: ChatMessageDoc): { reasoning: string | null; message: string } {
  const content = text(m.content);
  const field = [m.reasoning_content, m.reasoning].find((v): v is string => typeof v === "string" && v.length > 0) ?? null;
  const close = content.lastIndexOf("</think>");
  if (close < 0) return { reasoning: field, message: content };
  const inline = content.slice(0, close).replace(/^\s*<think>/, "").trim();
  return { reasoning: [field, inline].filter(Boolean).join("\n") || null, message: content.slice(close + "</think>".length).trim() };
}

function chatSteps(messages: readonly ChatMessageDoc[]): StepView[] {
  const results = new Map<string, string>();
  for (const m of messages) if (m.role === "tool" && m.tool_call_id) results.set(m.tool_call_id, text(m.content));
  const steps: StepView[] = [];
  for (const m of messages) {
    if (m.role === "tool") continue;
    const step = emptyStep(steps.length + 1, m.role === "assistant" ? "agent" : m.role === "user" ? "user" : "system");
    const { reasoning, message } = splitThink(m);
    step.message = message;
    step.reasoning = reasoning;
    step.calls = (m.tool_calls ?? []).map((c) => {
      const observation = results.get(c.id) ?? null;
      return { name: c.function.name, command: commandOf(c.function.arguments), observation, exitCode: exitCodeIn(observation) };
    });
    steps.push(step);
  }
  return steps;
}

/** Adds timing.json's seconds to the agent steps, in order. */
function withTimings(steps: StepView[], timings: readonly StepTiming[] | null): StepView[] {
  if (!timings) return steps;
  let k = 0;
  for (const s of steps) {
    if (s.source !== "agent") continue;
    const t = timings[k++];
    if (!t) break;
    s.llmSec = typeof t.llm_s === "number" ? t.llm_s : null;
    s.bashSec = typeof t.bash_s === "number" ? t.bash_s : null;
  }
  return steps;
}

export function trajectoryView(path: string, t: Trajectory, timings: readonly StepTiming[] | null): TrajectoryResponse {
  if (t.format === "atif") {
    const d = t.document;
    const steps = withTimings(atifSteps(d), timings);
    return {
      path,
      format: "atif",
      file: t.file,
      agent: d.agent.name,
      model: d.agent.model_name ?? null,
      steps,
      totals: {
        promptTokens: d.final_metrics?.total_prompt_tokens ?? null,
        completionTokens: d.final_metrics?.total_completion_tokens ?? null,
        costUsd: d.final_metrics?.total_cost_usd ?? null,
      },
    };
  }
  return { path, format: "chat", file: t.file, agent: null, model: null, steps: withTimings(chatSteps(t.messages), timings), totals: { promptTokens: null, completionTokens: null, costUsd: null } };
}

import { BASH_TOOL, SYSTEM_PROMPT } from "../../agent/tmax/prompts.js";
import type { FunctionTool } from "../../model/types.js";
import type { AtifDocument, ChatMessageDoc, Trajectory } from "../../store/trajectory.js";

/**
 * A trajectory as SFT chat data in the OpenAI / Hugging Face chat format: `system`, `user`, `assistant` (with
 * `reasoning_content` when the model reasoned, and `tool_calls` whose `arguments` are JSON strings) and `tool`
 * messages (`tool_call_id` naming the call they answer), plus the tools the calls use.
 *
 * - tmax's own trajectory (chat messages) is kept message for message; only the fields of the chat format are kept
 *   (provider-specific extras such as `refusal` or `annotations` are dropped; `reasoning` is read as
 *   `reasoning_content`).
 * - An ATIF trajectory (agent/trajectory.json of any Harbor agent or of tmax) is turned into messages step by step:
 *   the conversation opens with the harness's system prompt (SYSTEM_PROMPT; the agent's own system steps are
 *   dropped), a user step is a user message, an agent step an assistant message followed by one tool message per
 *   observation result that names a call, and results that name no call become one user message (an agent that
 *   works without tool calls reads the terminal that way).
 *
 * The tools are BASH_TOOL, then, for calls to other functions, the ATIF's `agent.tool_definitions` entry of that
 * name, or a definition with only the name when the trajectory defines none.
 */

export interface SftToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

export type SftMessage =
  | { role: "system" | "user"; content: string }
  | { role: "assistant"; content: string; reasoning_content?: string; tool_calls?: SftToolCall[] }
  | { role: "tool"; tool_call_id: string; content: string };

export interface SftConversation {
  messages: SftMessage[];
  tools: FunctionTool[];
}

/** Text of a message's content: a string as is, content parts as their `text` joined, anything else as JSON. */
function contentText(content: unknown): string {
  if (content === null || content === undefined) return "";
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content.map((part) => (typeof part === "string" ? part : typeof (part as { text?: unknown })?.text === "string" ? (part as { text: string }).text : "")).join("");
  }
  return JSON.stringify(content);
}

function chatMessage(m: ChatMessageDoc): SftMessage {
  const content = contentText(m.content);
  switch (m.role) {
    case "assistant": {
      const reasoning = [m.reasoning_content, m.reasoning].find((v): v is string => typeof v === "string" && v.length > 0);
      const calls = (m.tool_calls ?? []).map((c) => ({ id: c.id, type: "function" as const, function: { name: c.function.name, arguments: c.function.arguments } }));
      return { role: "assistant", content, ...(reasoning ? { reasoning_content: reasoning } : {}), ...(calls.length > 0 ? { tool_calls: calls } : {}) };
    }
    case "tool":
      return { role: "tool", tool_call_id: m.tool_call_id ?? "", content };
    case "developer":
    case "system":
      return { role: "system", content };
    default:
      return { role: "user", content };
  }
}

function atifMessages(doc: AtifDocument): SftMessage[] {
  const out: SftMessage[] = [{ role: "system", content: SYSTEM_PROMPT }];
  for (const step of doc.steps) {
    if (step.source === "system") continue;
    if (step.source !== "agent") {
      out.push({ role: "user", content: contentText(step.message) });
      continue;
    }
    const calls = (step.tool_calls ?? []).map((c) => ({
      id: c.tool_call_id,
      type: "function" as const,
      function: { name: c.function_name, arguments: typeof c.arguments === "string" ? c.arguments : JSON.stringify(c.arguments ?? {}) },
    }));
    const reasoning = step.reasoning_content ?? "";
    out.push({
      role: "assistant",
      content: contentText(step.message),
      ...(reasoning ? { reasoning_content: reasoning } : {}),
      ...(calls.length > 0 ? { tool_calls: calls } : {}),
    });
    const callIds = new Set(calls.map((c) => c.id));
    const unanswered: string[] = [];
    for (const result of step.observation?.results ?? []) {
      const id = result.source_call_id;
      if (id && callIds.has(id)) out.push({ role: "tool", tool_call_id: id, content: contentText(result.content) });
      else unanswered.push(contentText(result.content));
    }
    if (unanswered.length > 0) out.push({ role: "user", content: unanswered.join("\n") });
  }
  return out;
}

/** The OpenAI-format definition of a tool named in an ATIF's `agent.tool_definitions`, if it has one. */
function definedTool(doc: AtifDocument | null, name: string): FunctionTool | null {
  const defs: unknown = (doc?.agent as { tool_definitions?: unknown } | undefined)?.tool_definitions;
  if (!Array.isArray(defs)) return null;
  for (const d of defs as unknown[]) {
    const fn = (d as { function?: { name?: unknown } } | null)?.function;
    if (fn && fn.name === name) return d as FunctionTool;
  }
  return null;
}

function toolsOf(messages: readonly SftMessage[], doc: AtifDocument | null): FunctionTool[] {
  const tools: FunctionTool[] = [BASH_TOOL];
  const named = new Set([BASH_TOOL.function.name]);
  for (const m of messages) {
    if (m.role !== "assistant") continue;
    for (const c of m.tool_calls ?? []) {
      if (named.has(c.function.name)) continue;
      named.add(c.function.name);
      tools.push(definedTool(doc, c.function.name) ?? { type: "function", function: { name: c.function.name, description: "", parameters: { type: "object", properties: {} } } });
    }
  }
  return tools;
}

/** The SFT conversation of a trajectory (see the module comment). */
export function sftConversation(trajectory: Trajectory): SftConversation {
  if (trajectory.format === "chat") {
    const messages = trajectory.messages.map(chatMessage);
    return { messages, tools: toolsOf(messages, null) };
  }
  const messages = atifMessages(trajectory.document);
  return { messages, tools: toolsOf(messages, trajectory.document) };
}

import type { ChatMessage } from "./types.js";

/** A tool call read from a reply, natively (`tool_calls`) or from text in `content`. */
export interface ParsedToolCall {
  id: string | null;
  name: string;
  /** The decoded arguments object, or null when they could not be decoded. */
  args: Record<string, unknown> | null;
  /** Why `args` is null. */
  error: string | null;
  source: "native" | "hermes" | "qwen3_xml";
}

const TOOL_CALL_BLOCK = /<tool_call>([\s\S]*?)(?:<\/tool_call>|$)/g;

function decodeArgs(raw: unknown): { args: Record<string, unknown> | null; error: string | null } {
  if (raw && typeof raw === "object" && !Array.isArray(raw)) return { args: raw as Record<string, unknown>, error: null };
  if (typeof raw === "string") {
    if (raw.trim() === "") return { args: {}, error: null };
    try {
      const v = JSON.parse(raw) as unknown;
      if (v && typeof v === "object" && !Array.isArray(v)) return { args: v as Record<string, unknown>, error: null };
      return { args: null, error: "the arguments are not a JSON object" };
    } catch (err) {
      return { args: null, error: `the arguments are not valid JSON (${(err as Error).message})` };
    }
  }
  return { args: null, error: "the call has no arguments object" };
}

/** Native OpenAI `tool_calls`; `arguments` may be a JSON string or already an object. */
export function nativeToolCalls(message: ChatMessage): ParsedToolCall[] {
  const calls = Array.isArray(message.tool_calls) ? message.tool_calls : [];
  return calls.map((c) => {
    const fn = (c as { function?: { name?: unknown; arguments?: unknown } }).function ?? {};
    return {
      id: typeof c.id === "string" ? c.id : null,
      name: typeof fn.name === "string" ? fn.name : "",
      ...decodeArgs(fn.arguments),
      source: "native" as const,
    };
  });
}

/** Qwen3-XML: `<function=NAME>` then `<parameter=P>` blocks whose values are raw text. */
function parseQwenXml(body: string): ParsedToolCall | null {
  const fn = /<function=([^>\s]+)>([\s\S]*?)(?:<\/function>|$)/.exec(body);
  if (!fn) return null;
  const args: Record<string, unknown> = {};
  const paramRe = /<parameter=([^>\s]+)>([\s\S]*?)<\/parameter>/g;
  for (let m = paramRe.exec(fn[2]!); m; m = paramRe.exec(fn[2]!)) {
    // Exactly one newline after the opening tag and one before the closing tag belong to the format.
    let value = m[2]!;
    if (value.startsWith("\n")) value = value.slice(1);
    if (value.endsWith("\n")) value = value.slice(0, -1);
    args[m[1]!] = value;
  }
  return { id: null, name: fn[1]!, args, error: null, source: "qwen3_xml" };
}

/** Hermes: a JSON object `{"name": ..., "arguments": {...}}` inside `<tool_call>` tags. */
function parseHermes(body: string): ParsedToolCall | null {
  const text = body.trim();
  if (!text.startsWith("{")) return null;
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (err) {
    return { id: null, name: "", args: null, error: `the <tool_call> JSON is invalid (${(err as Error).message})`, source: "hermes" };
  }
  const o = obj as { name?: unknown; arguments?: unknown; parameters?: unknown };
  const name = typeof o.name === "string" ? o.name : "";
  const decoded = decodeArgs(o.arguments ?? o.parameters ?? null);
  return { id: null, name, ...decoded, source: "hermes" };
}

/** Tool calls written as text in `content` (servers without a tool-call parser): Hermes JSON or Qwen3-XML. */
export function textToolCalls(content: string | null | undefined): ParsedToolCall[] {
  if (!content || !content.includes("<tool_call>")) return [];
  // Calls inside the reasoning are thoughts, not calls.
  const afterThink = content.includes("</think>") ? content.slice(content.lastIndexOf("</think>") + "</think>".length) : content;
  const out: ParsedToolCall[] = [];
  for (const m of afterThink.matchAll(TOOL_CALL_BLOCK)) {
    const body = m[1] ?? "";
    const call = body.includes("<function=") ? parseQwenXml(body) : parseHermes(body);
    if (call) out.push(call);
  }
  return out;
}

/** Removes `<tool_call>` blocks from content (after a text call was turned into a native one). */
export function stripToolCallText(content: string): string {
  const cut = content.indexOf("<tool_call>", content.includes("</think>") ? content.lastIndexOf("</think>") : 0);
  return cut < 0 ? content : content.slice(0, cut).trimEnd();
}

/**
 * Reasoning of a reply: `reasoning_content` (vLLM reasoning parser), `reasoning` (some servers), or the text up to
 * `</think>` in content (Qwen3.5 without a reasoning parser; the opening tag is often part of the prompt).
 */
export function splitReasoning(message: ChatMessage): { reasoning: string | null; text: string } {
  const content = message.content ?? "";
  const field = [message.reasoning_content, message.reasoning].find((v): v is string => typeof v === "string" && v.length > 0);
  const close = content.lastIndexOf("</think>");
  if (close >= 0) {
    const before = content.slice(0, close).replace(/^\s*<think>/, "").trim();
    const text = content.slice(close + "</think>".length).trim();
    return { reasoning: [field, before].filter(Boolean).join("\n") || null, text };
  }
  return { reasoning: field ?? null, text: content.trim() };
}

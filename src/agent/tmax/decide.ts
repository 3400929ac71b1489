import { randomBytes } from "node:crypto";
import { nativeToolCalls, stripToolCallText, textToolCalls, type ParsedToolCall } from "../../model/tool-calls.js";
import type { ChatMessage, ToolCall } from "../../model/types.js";

/** A `bash` call the harness will run. */
export interface BashCall {
  /** The id the tool result refers to (the server's, or a new one for a call written as text). */
  id: string;
  /** The command, trimmed. */
  command: string;
}

/** What one reply means: the calls to run, or a format error; `stored` is the message as it enters the history. */
export type Decision =
  | { ok: true; call: ParsedToolCall; command: string; stored: ChatMessage }
  | { ok: false; reason: string; stored: ChatMessage };

/** Like Decision, for the rule "run every valid bash call of the reply, in order". */
export type MultiDecision = { ok: true; calls: BashCall[]; stored: ChatMessage } | { ok: false; reason: string; stored: ChatMessage };

function newCallId(): string {
  return `call_${randomBytes(12).toString("hex")}`;
}

/** Why a parsed call cannot be run as a bash command, or null when it can. */
function problemOf(call: ParsedToolCall): string | null {
  if (call.name !== "bash") return `it calls "${call.name || "(no name)"}", but the only tool is "bash"`;
  if (!call.args) return call.error ?? "the arguments could not be read";
  const raw = call.args.command;
  if (raw === undefined) return "the `command` argument is missing";
  if (typeof raw !== "string") return "the `command` argument must be a string";
  if (raw.trim() === "") return "the command is empty";
  return null;
}

/** The reply's tool calls: native `tool_calls` when there are any, else calls written as text in `content`. */
function callsOf(message: ChatMessage): { calls: ParsedToolCall[]; native: boolean } {
  const native = nativeToolCalls(message);
  return native.length > 0 ? { calls: native, native: true } : { calls: textToolCalls(message.content), native: false };
}

/** The message without tool calls and with string content: how a rejected reply is kept in the history. */
function withoutCalls(message: ChatMessage): ChatMessage {
  const stored: ChatMessage = { ...message, content: message.content ?? "" };
  delete stored.tool_calls;
  return stored;
}

/**
 * The stored form of a reply whose calls `keep` (indices into the parsed calls) will run: native calls are re-sent as
 * received with only those calls (unanswered calls would break the history); calls written as text become native
 * calls, so the tool results that follow refer to them, and their text is removed from `content`.
 */
function storedWith(message: ChatMessage, parsed: ParsedToolCall[], keep: number[], native: boolean): { stored: ChatMessage; ids: string[] } {
  if (native) {
    const raw = message.tool_calls ?? [];
    const kept = keep.map((i) => {
      const c = raw[i] as ToolCall;
      const args = typeof c.function.arguments === "string" ? c.function.arguments : JSON.stringify(c.function.arguments);
      return { ...c, id: c.id || newCallId(), type: "function" as const, function: { ...c.function, arguments: args } };
    });
    return { stored: { ...message, tool_calls: kept }, ids: kept.map((c) => c.id) };
  }
  const kept = keep.map((i) => ({ id: newCallId(), type: "function" as const, function: { name: "bash", arguments: JSON.stringify(parsed[i]!.args) } }));
  return { stored: { ...message, content: stripToolCallText(message.content ?? ""), tool_calls: kept }, ids: kept.map((c) => c.id) };
}

/** The eval harness's rule: the reply's FIRST tool call must be a valid `bash` call; anything else is a format error. */
export function decide(message: ChatMessage): Decision {
  const { calls, native } = callsOf(message);
  const call = calls[0];
  if (!call) return { ok: false, reason: "the reply has no tool call", stored: withoutCalls(message) };
  const problem = problemOf(call);
  if (problem) return { ok: false, reason: problem, stored: withoutCalls(message) };
  return { ok: true, call, command: (call.args!.command as string).trim(), stored: storedWith(message, calls, [0], native).stored };
}

/**
 * The RL environment's rule: every valid `bash` call of the reply runs, in order; calls naming other tools or with
 * unreadable arguments are dropped. A reply with no valid call is a format error (the first problem is the reason).
 */
export function decideAll(message: ChatMessage): MultiDecision {
  const { calls, native } = callsOf(message);
  const valid = calls.map((c, i) => ({ i, problem: problemOf(c) })).filter((x) => x.problem === null);
  if (valid.length === 0) {
    const first = calls[0];
    return { ok: false, reason: first ? problemOf(first)! : "the reply has no tool call", stored: withoutCalls(message) };
  }
  const keep = valid.map((x) => x.i);
  const { stored, ids } = storedWith(message, calls, keep, native);
  return { ok: true, calls: keep.map((i, n) => ({ id: ids[n]!, command: (calls[i]!.args!.command as string).trim() })), stored };
}

import type { Policy, PolicyReply, PolicyRequest, PolicyTurn } from "../../src/agent/tmax/policy.js";
import type { Shell, ShellResult } from "../../src/agent/tmax/shell.js";
import type { ChatMessage, TurnTokens } from "../../src/model/types.js";
import { sleep } from "../../src/util/sleep.js";

/**
 * In-memory stand-ins for the two sides of an episode, so the engine's rules are tested without containers or model
 * servers: a shell whose commands are answered by a function, and a policy that replays scripted replies.
 */

/** How the in-memory shell answers a command: output, or `hang` to run until the timeout kills it. */
export type ShellAnswer = Partial<Omit<ShellResult, "durationSec">> & { hang?: boolean; partial?: string };

export interface MemoryShell extends Shell {
  commands: string[];
}

/** A shell that answers each command with `answer(command)`; by default it echoes `ok` and exits 0. */
export function memoryShell(answer: (command: string) => ShellAnswer = () => ({ stdout: "ok\n" })): MemoryShell {
  const commands: string[] = [];
  return {
    commands,
    async run(command, { timeoutSec, signal }) {
      commands.push(command);
      const a = answer(command);
      if (a.hang) {
        await sleep(timeoutSec * 1000, signal);
        return { stdout: a.partial ?? "", stderr: "", exitCode: 124, timedOut: true, dropped: 0, durationSec: timeoutSec };
      }
      signal.throwIfAborted();
      return { stdout: a.stdout ?? "", stderr: a.stderr ?? "", exitCode: a.exitCode ?? 0, timedOut: false, dropped: a.dropped ?? 0, durationSec: 0.01 };
    },
  };
}

/** A turn with defaults: 100 prompt / 10 completion tokens, 0.5 s, no cost, no token data. */
export function turn(message: Partial<ChatMessage>, over: Partial<Omit<PolicyTurn, "message">> = {}): PolicyReply {
  return {
    kind: "turn",
    turn: {
      message: { role: "assistant", content: null, ...message },
      finishReason: "stop",
      usage: { promptTokens: 100, completionTokens: 10, reasoningTokens: 2, cachedTokens: 40, costUsd: null },
      costUsd: null,
      latencySec: 0.5,
      attempts: 1,
      tokens: null,
      ...over,
    },
  };
}

let seq = 0;
/** A reply with one native bash call. */
export function bash(command: string, over: Partial<Omit<PolicyTurn, "message">> = {}, content: string | null = null): PolicyReply {
  return turn({ content, tool_calls: [{ id: `call_${++seq}`, type: "function", function: { name: "bash", arguments: JSON.stringify({ command }) } }] }, over);
}

/** A reply with plain text and no call. */
export function text(content: string): PolicyReply {
  return turn({ content });
}

export function tokens(prompt: number[], completion: number[], logprobs: number[] | null = completion.map(() => -0.1)): TurnTokens {
  return { promptTokenIds: prompt, completionTokenIds: completion, logprobs };
}

export interface ScriptedPolicy extends Policy {
  /** A copy of the conversation each call received. */
  requests: ChatMessage[][];
}

/**
 * Replays `script` in order (an Error is thrown instead of answered); after the script it answers `fallback`
 * (default: submit). A function script answers from the request.
 */
export function scriptedPolicy(
  script: (PolicyReply | Error)[] | ((request: PolicyRequest, index: number) => PolicyReply | Error),
  fallback: PolicyReply = bash("echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"),
): ScriptedPolicy {
  const requests: ChatMessage[][] = [];
  return {
    model: "scripted",
    requests,
    async next(request, signal) {
      signal.throwIfAborted();
      requests.push(request.messages.map((m) => ({ ...m })));
      const i = requests.length - 1;
      const r = Array.isArray(script) ? (script[i] ?? fallback) : script(request, i);
      if (r instanceof Error) throw r;
      return r;
    },
  };
}

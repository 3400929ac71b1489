import { splitReasoning } from "../../model/tool-calls.js";
import type { ChatMessage, FunctionTool } from "../../model/types.js";
import { utcIso } from "../../util/time.js";
import { decide, decideAll, type BashCall } from "./decide.js";
import { formatObservation } from "./observation.js";
import type { Policy, PolicyTurn } from "./policy.js";
import { BASH_TOOL, SUBMIT_MARKER, SYSTEM_PROMPT, formatErrorMessage, instanceMessage, timeoutNotice } from "./prompts.js";
import type { Shell } from "./shell.js";

/**
 * The Tmax harness as a pure episode engine: a policy proposes turns, the harness reads the `bash` call(s) out of
 * each, runs them in a shell, feeds the formatted observation back, and ends the episode by the harness's rules. It
 * knows no files, no Harbor types and no trials; adapters (the tmax agent, RL rollouts) supply the policy and the
 * shell and turn the returned Episode into whatever they write.
 */

/** The rules of the loop. `TMAX_EVAL_RULES` are the Tmax evaluation harness's; RL rollouts change a few. */
export interface EpisodeSettings {
  /** Steps at most; a step is one executed command or one format error. */
  maxSteps: number;
  /** Consecutive format errors that end the episode (with feedback on). */
  maxFormatErrors: number;
  /** true: a reply without a valid call gets "Format error: …" feedback and the loop goes on; false: it ends the episode. */
  formatErrorFeedback: boolean;
  /** "first": only a reply's first tool call counts (others are dropped); "all": every valid bash call runs, each a step. */
  callsPerTurn: "first" | "all";
  /** Where the submit marker ends the episode: in the command or its output, or in the output only. */
  submitOn: "command_or_output" | "output";
  /** Seconds per command before it is killed and the episode goes on. */
  commandTimeoutSec: number;
  /** End the episode once the known cost reaches this many dollars (0 = no limit). */
  costLimitUsd: number;
}

export const TMAX_EVAL_RULES: EpisodeSettings = {
  maxSteps: 64,
  maxFormatErrors: 64,
  formatErrorFeedback: true,
  callsPerTurn: "first",
  submitOn: "command_or_output",
  commandTimeoutSec: 120,
  costLimitUsd: 0,
};

/**
 * The rules of an RL rollout (spec rl.md §4/§5): every valid `bash` call of a turn runs (each a step), a reply
 * without one ends the episode with no feedback, and only the marker in a command's output submits.
 */
export const TMAX_RL_RULES: EpisodeSettings = {
  ...TMAX_EVAL_RULES,
  formatErrorFeedback: false,
  callsPerTurn: "all",
  submitOn: "output",
};

/** How an episode ended. The first seven are the harness's endings; the last two mean the run failed. */
export type EpisodeEnding =
  | "submitted"
  | "max_steps"
  | "format_errors"
  | "no_tool_call"
  | "context_window"
  | "token_budget"
  | "cost_limit"
  | "interrupted"
  | "error";

/** One message of the conversation, when it was added, and (assistant messages) the turn that produced it. */
export interface EpisodeEntry {
  message: ChatMessage;
  /** UTC ISO timestamp. */
  at: string;
  turn: Omit<PolicyTurn, "message"> | null;
}

export type StepRecord =
  | {
      step: number;
      kind: "command";
      command: string;
      exitCode: number;
      timedOut: boolean;
      /** Model seconds of the turn (charged to its first step). */
      llmSec: number;
      bashSec: number;
      observation: string;
    }
  | { step: number; kind: "format_error"; reason: string; llmSec: number };

export interface EpisodeUsage {
  promptTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  cachedTokens: number;
  /** Sum of the turns' known costs; null when no turn's cost is known. */
  costUsd: number | null;
  turns: number;
}

export interface Episode {
  entries: EpisodeEntry[];
  steps: StepRecord[];
  usage: EpisodeUsage;
  ending: EpisodeEnding;
  /** Words on the ending when there are any (e.g. the server's context-window message, an error's message). */
  detail: string | null;
  /** What was thrown, for the endings "error" and "interrupted" (the abort reason); else null. */
  error: unknown;
}

/** What happens during an episode, for live display and logs. */
export type EpisodeEvent =
  | { type: "model"; step: number; reasoning: string | null; text: string; command: string | null; llmSec: number }
  | { type: "observation"; step: number; command: string; output: string; exitCode: number; timedOut: boolean; bashSec: number }
  | { type: "format_error"; step: number; reason: string }
  /** A model request is retried (emitted by policies' clients, not by the loop). */
  | { type: "retry"; message: string }
  | { type: "done"; status: EpisodeEnding; steps: number };

export interface EpisodeInput {
  instruction: string;
  policy: Policy;
  shell: Shell;
  settings: EpisodeSettings;
  /** Aborting stops the current model call or command; the episode then ends as "interrupted". */
  signal: AbortSignal;
  /** Called on every event with the episode as it stands (a live view; do not modify it). */
  onEvent?: (event: EpisodeEvent, episode: Readonly<Episode>) => void;
}

/** The conversation of an episode as chat messages. */
export function episodeMessages(episode: Pick<Episode, "entries">): ChatMessage[] {
  return episode.entries.map((e) => e.message);
}

const TOOLS: readonly FunctionTool[] = [BASH_TOOL];

/** Runs one episode to its end. Never throws: failures end the episode as "error" or "interrupted", with the cause. */
export async function runEpisode(input: EpisodeInput): Promise<Episode> {
  const { policy, shell, settings: s, signal } = input;
  const episode: Episode = {
    entries: [],
    steps: [],
    usage: { promptTokens: 0, completionTokens: 0, reasoningTokens: 0, cachedTokens: 0, costUsd: null, turns: 0 },
    ending: "max_steps",
    detail: null,
    error: null,
  };
  const add = (message: ChatMessage, turn: EpisodeEntry["turn"] = null): void => {
    episode.entries.push({ message, at: utcIso(), turn });
  };
  const emit = (e: EpisodeEvent): void => input.onEvent?.(e, episode);
  const end = (ending: EpisodeEnding, detail: string | null = null): void => {
    episode.ending = ending;
    episode.detail = detail;
  };

  add({ role: "system", content: SYSTEM_PROMPT });
  add({ role: "user", content: instanceMessage(input.instruction) });
  let step = 0;
  let formatErrorsInARow = 0;
  try {
    turns: while (step < s.maxSteps) {
      signal.throwIfAborted();
      const reply = await policy.next({ messages: episodeMessages(episode), tools: TOOLS }, signal);
      if (reply.kind === "exhausted") {
        end(reply.reason, reply.detail);
        break;
      }
      const { message, ...turn } = reply.turn;
      const decision = readCalls(message, s.callsPerTurn);
      add(decision.stored, turn);
      countUsage(episode.usage, turn);
      const { reasoning, text } = splitReasoning(decision.stored);
      emit({ type: "model", step: step + 1, reasoning, text, command: decision.ok ? decision.calls[0]!.command : null, llmSec: turn.latencySec });

      if (!decision.ok) {
        step++;
        if (s.formatErrorFeedback) add({ role: "user", content: formatErrorMessage(decision.reason) });
        episode.steps.push({ step, kind: "format_error", reason: decision.reason, llmSec: turn.latencySec });
        emit({ type: "format_error", step, reason: decision.reason });
        if (!s.formatErrorFeedback) {
          end("no_tool_call", decision.reason);
          break;
        }
        if (++formatErrorsInARow >= s.maxFormatErrors) {
          end("format_errors");
          break;
        }
        continue;
      }
      formatErrorsInARow = 0;

      for (const [i, call] of decision.calls.entries()) {
        if (step >= s.maxSteps) break turns;
        step++;
        const observation = await execute(shell, call.command, s.commandTimeoutSec, signal);
        add({ role: "tool", tool_call_id: call.id, content: observation.text });
        episode.steps.push({
          step,
          kind: "command",
          command: call.command,
          exitCode: observation.exitCode,
          timedOut: observation.timedOut,
          llmSec: i === 0 ? turn.latencySec : 0,
          bashSec: observation.durationSec,
          observation: observation.text,
        });
        emit({ type: "observation", step, command: call.command, output: observation.text, exitCode: observation.exitCode, timedOut: observation.timedOut, bashSec: observation.durationSec });
        const submitted = observation.text.includes(SUBMIT_MARKER) || (s.submitOn === "command_or_output" && call.command.includes(SUBMIT_MARKER));
        if (submitted) {
          end("submitted");
          break turns;
        }
      }
      if (s.costLimitUsd > 0 && (episode.usage.costUsd ?? 0) >= s.costLimitUsd) {
        end("cost_limit");
        break;
      }
    }
  } catch (err) {
    if (signal.aborted) {
      end("interrupted");
      episode.error = signal.reason;
    } else {
      end("error", err instanceof Error ? err.message : String(err));
      episode.error = err;
    }
    return episode;
  }
  emit({ type: "done", status: episode.ending, steps: step });
  return episode;
}

type Calls = { ok: true; calls: BashCall[]; stored: ChatMessage } | { ok: false; reason: string; stored: ChatMessage };

function readCalls(message: ChatMessage, rule: EpisodeSettings["callsPerTurn"]): Calls {
  if (rule === "all") return decideAll(message);
  const d = decide(message);
  return d.ok ? { ok: true, calls: [{ id: d.stored.tool_calls![0]!.id, command: d.command }], stored: d.stored } : d;
}

function countUsage(u: EpisodeUsage, turn: Omit<PolicyTurn, "message">): void {
  u.turns++;
  u.promptTokens += turn.usage.promptTokens;
  u.completionTokens += turn.usage.completionTokens;
  u.reasoningTokens += turn.usage.reasoningTokens;
  u.cachedTokens += turn.usage.cachedTokens;
  if (turn.costUsd != null) u.costUsd = (u.costUsd ?? 0) + turn.costUsd;
}

/** Runs one command and formats what the model sees: output, a timeout notice when it was killed, the exit code. */
async function execute(
  shell: Shell,
  command: string,
  timeoutSec: number,
  signal: AbortSignal,
): Promise<{ text: string; exitCode: number; timedOut: boolean; durationSec: number }> {
  const r = await shell.run(command, { timeoutSec, signal });
  const notice = r.timedOut ? timeoutNotice(timeoutSec) : null;
  const stderr = notice ? (r.stderr ? `${notice}\n${r.stderr}` : notice) : r.stderr;
  const text = formatObservation({ stdout: r.stdout, stderr, returnCode: r.exitCode, dropped: r.dropped });
  return { text, exitCode: r.exitCode, timedOut: r.timedOut, durationSec: r.durationSec };
}

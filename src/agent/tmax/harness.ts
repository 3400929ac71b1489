import { randomBytes } from "node:crypto";
import type { Environment } from "../../environment/environment.js";
import { ModelError } from "../../model/errors.js";
import { OpenAIChatClient } from "../../model/openai-client.js";
import { nativeToolCalls, splitReasoning, stripToolCallText, textToolCalls, type ParsedToolCall } from "../../model/tool-calls.js";
import type { ChatMessage, ModelClient, ModelReply, ToolCall } from "../../model/types.js";
import { TMAX_VERSION } from "../../version.js";
import { splitModelName, type Agent, type AgentOptions, type AgentRunContext, type ModelInfo } from "../agent.js";
import { resolveSettings, type TmaxAgentSettings } from "./config.js";
import { formatObservation } from "./observation.js";
import { BASH_TOOL, SUBMIT_MARKER, SYSTEM_PROMPT, formatErrorMessage, instanceMessage, timeoutNotice } from "./prompts.js";
import { RunRecord } from "./record.js";
import { PersistentShell } from "./shell.js";

/** What happens during a run, for live display (`tmax agent`) and logs. */
export type AgentEvent =
  | { type: "model"; step: number; reasoning: string | null; text: string; command: string | null; llmSec: number }
  | { type: "observation"; step: number; command: string; output: string; exitCode: number; timedOut: boolean; bashSec: number }
  | { type: "format_error"; step: number; reason: string }
  | { type: "retry"; message: string }
  | { type: "done"; status: ExitStatus; steps: number };

export type ExitStatus = "submitted" | "max_steps" | "format_errors" | "context_window" | "cost_limit";

export interface TmaxAgentDeps {
  /** A ready model client (tests, custom backends); by default an OpenAI-SDK client from the settings. */
  client?: ModelClient;
  onEvent?: (e: AgentEvent) => void;
}

type Decision = { ok: true; call: ParsedToolCall; command: string; stored: ChatMessage } | { ok: false; reason: string; stored: ChatMessage };

function newCallId(): string {
  return `call_${randomBytes(12).toString("hex")}`;
}

/**
 * Reads the reply's first tool call and decides: a valid `bash` call (the stored message keeps only that call), or a
 * format error (the stored message keeps its text, without tool calls).
 */
export function decide(message: ChatMessage): Decision {
  const withoutCalls: ChatMessage = { ...message, content: message.content ?? "" };
  delete withoutCalls.tool_calls;
  const native = nativeToolCalls(message);
  const calls = native.length > 0 ? native : textToolCalls(message.content);
  const call = calls[0];
  if (!call) return { ok: false, reason: "the reply has no tool call", stored: withoutCalls };
  if (call.name !== "bash") return { ok: false, reason: `it calls "${call.name || "(no name)"}", but the only tool is "bash"`, stored: withoutCalls };
  if (!call.args) return { ok: false, reason: call.error ?? "the arguments could not be read", stored: withoutCalls };
  const raw = call.args.command;
  if (raw === undefined) return { ok: false, reason: "the `command` argument is missing", stored: withoutCalls };
  if (typeof raw !== "string") return { ok: false, reason: "the `command` argument must be a string", stored: withoutCalls };
  const command = raw.trim();
  if (command === "") return { ok: false, reason: "the command is empty", stored: withoutCalls };

  let stored: ChatMessage;
  if (call.source === "native") {
    // Re-sent as received, but with only the call that is executed (extra calls would be left unanswered).
    const first = (message.tool_calls ?? [])[0] as ToolCall;
    const args = typeof first.function.arguments === "string" ? first.function.arguments : JSON.stringify(first.function.arguments);
    stored = { ...message, tool_calls: [{ ...first, id: first.id || newCallId(), type: "function", function: { ...first.function, arguments: args } }] };
  } else {
    // A call written as text becomes a native call, so the tool result that follows refers to it.
    stored = {
      ...message,
      content: stripToolCallText(message.content ?? ""),
      tool_calls: [{ id: newCallId(), type: "function", function: { name: "bash", arguments: JSON.stringify(call.args) } }],
    };
  }
  return { ok: true, call, command, stored };
}

/**
 * The tmax agent: the Tmax harness's loop — one `bash` tool, a persistent shell, a submit marker, format-error
 * feedback, 64 steps — over any OpenAI-compatible chat-completions server.
 */
export class TmaxAgent implements Agent {
  readonly name = "tmax";
  readonly version = TMAX_VERSION;
  readonly modelInfo: ModelInfo | null;
  readonly settings: TmaxAgentSettings;
  private readonly client: ModelClient;
  private shell: PersistentShell | null = null;

  constructor(
    opts: AgentOptions,
    private readonly deps: TmaxAgentDeps = {},
  ) {
    if (!opts.modelName) throw new Error("the tmax agent needs a model: -m <served model name>");
    this.settings = resolveSettings(opts.kwargs, opts.env);
    this.modelInfo = splitModelName(opts.modelName);
    this.client =
      deps.client ??
      new OpenAIChatClient({
        baseUrl: this.settings.baseUrl,
        apiKey: this.settings.apiKey,
        model: opts.modelName,
        requestTimeoutSec: this.settings.request_timeout_sec,
        retry: { attempts: this.settings.max_attempts, baseDelaySec: this.settings.retry_base_delay_sec },
        onRetry: (message) => this.deps.onEvent?.({ type: "retry", message }),
      });
  }

  private emit(e: AgentEvent): void {
    this.deps.onEvent?.(e);
  }

  async setup(env: Environment, ctx: AgentRunContext): Promise<void> {
    this.shell = new PersistentShell(env, { user: ctx.task.config.agent.user, timeoutSec: this.settings.command_timeout_sec });
    await this.shell.setup(ctx.signal);
  }

  private costOf(reply: ModelReply): number | null {
    if (reply.usage.costUsd != null) return reply.usage.costUsd;
    const { input_cost_per_mtok: inPrice, output_cost_per_mtok: outPrice } = this.settings;
    if (inPrice === undefined && outPrice === undefined) return null;
    return (reply.usage.promptTokens * (inPrice ?? 0) + reply.usage.completionTokens * (outPrice ?? 0)) / 1e6;
  }

  async run(instruction: string, env: Environment, ctx: AgentRunContext): Promise<void> {
    const s = this.settings;
    if (!this.shell) await this.setup(env, ctx);
    const shell = this.shell!;
    const record = new RunRecord({ name: this.name, version: this.version, model: this.client.model }, s.max_steps);
    record.add({ role: "system", content: SYSTEM_PROMPT });
    record.add({ role: "user", content: instanceMessage(instruction) });
    const params = {
      temperature: s.temperature,
      top_p: s.top_p,
      max_tokens: s.max_tokens,
      maxTokensParam: s.max_tokens_param,
      extraBody: { ...(s.top_k !== undefined ? { top_k: s.top_k } : {}), ...s.extra_body },
    };
    const syncResult = (): void => {
      ctx.result.n_input_tokens = record.usage.prompt_tokens;
      ctx.result.n_cache_tokens = record.usage.cached_tokens;
      ctx.result.n_output_tokens = record.usage.completion_tokens;
      ctx.result.cost_usd = record.usage.cost_usd;
      ctx.result.metadata = {
        ...(ctx.result.metadata ?? {}),
        exit_status: record.usage.exit_status,
        steps: record.timing.length,
        format_errors: record.timing.filter((t) => "format_error" in t).length,
        reasoning_tokens: record.usage.reasoning_tokens,
      };
    };

    let status: ExitStatus = "max_steps";
    let consecutiveFormatErrors = 0;
    let step = 0;
    try {
      for (step = 1; step <= s.max_steps; step++) {
        ctx.signal.throwIfAborted();
        let reply: ModelReply;
        try {
          reply = await this.client.complete(record.messages, [BASH_TOOL], params, ctx.signal);
        } catch (err) {
          if (ctx.signal.aborted) throw ctx.signal.reason;
          if (err instanceof ModelError && err.kind === "context_window") {
            ctx.log(`context window exceeded at step ${step}: ${err.message}`);
            status = "context_window";
            break;
          }
          throw err;
        }
        const decision = decide(reply.message);
        record.addAssistant(decision.stored, reply.usage, this.costOf(reply));
        const { reasoning, text } = splitReasoning(decision.stored);
        this.emit({ type: "model", step, reasoning, text, command: decision.ok ? decision.command : null, llmSec: reply.latencySec });

        if (!decision.ok) {
          record.add({ role: "user", content: formatErrorMessage(decision.reason) });
          record.addFormatError(step, reply.latencySec);
          this.emit({ type: "format_error", step, reason: decision.reason });
          syncResult();
          if (++consecutiveFormatErrors >= s.max_format_errors) {
            status = "format_errors";
            break;
          }
          continue;
        }
        consecutiveFormatErrors = 0;

        const result = await shell.run(decision.command, ctx.signal);
        let stderr = result.stderr;
        if (result.timedOut) stderr = stderr ? `${timeoutNotice(s.command_timeout_sec)}\n${stderr}` : timeoutNotice(s.command_timeout_sec);
        const observation = formatObservation({
          stdout: result.stdout,
          stderr,
          returnCode: result.returnCode,
          dropped: result.stdoutDropped + result.stderrDropped,
        });
        record.add({ role: "tool", tool_call_id: decision.stored.tool_calls![0]!.id, content: observation });
        record.addStep(step, reply.latencySec, result.durationSec, result.returnCode, decision.command);
        this.emit({
          type: "observation",
          step,
          command: decision.command,
          output: observation,
          exitCode: result.returnCode,
          timedOut: result.timedOut,
          bashSec: result.durationSec,
        });
        syncResult();
        if (decision.command.includes(SUBMIT_MARKER) || observation.includes(SUBMIT_MARKER)) {
          status = "submitted";
          break;
        }
        if (s.cost_limit_usd > 0 && (record.usage.cost_usd ?? 0) >= s.cost_limit_usd) {
          status = "cost_limit";
          break;
        }
      }
      record.usage.exit_status = status;
      this.emit({ type: "done", status, steps: Math.min(step, s.max_steps) });
    } catch (err) {
      record.usage.exit_status = ctx.signal.aborted ? "interrupted" : `error: ${(err as Error).name}`;
      throw err;
    } finally {
      syncResult();
      await record.write(ctx.logsDir);
    }
  }
}

import OpenAI from "openai";
import { Agent, fetch as undiciFetch } from "undici";
import { MAX_TIMER_MS } from "../util/timers.js";
import { ModelError, classifyError } from "./errors.js";
import { DEFAULT_RETRY, retryNotice, withRetries, type RetryPolicy } from "./retry.js";
import type { ChatMessage, FunctionTool, ModelClient, ModelReply, ModelUsage, SamplingParams, TurnTokens } from "./types.js";

export interface OpenAIClientOptions {
  baseUrl: string;
  apiKey?: string | null;
  /** Model name as given (`openai/<served name>` is accepted: the provider prefix is dropped). */
  model: string;
  /** Seconds before a request is abandoned and retried (the Tmax harness: 18000; at most about 24.8 days). */
  requestTimeoutSec?: number;
  retry?: RetryPolicy;
  onRetry?: (message: string) => void;
}

/**
 * fetch without the HTTP client's own waits: Node's built-in fetch gives up on a response whose headers take more
 * than 300 s (undici's default headersTimeout), and on a body that pauses as long, whatever the request timeout
 * says — so a non-streamed 16k-token reply from a slow server could never arrive. The request timeout (and the
 * caller's abort signal) bound a request instead.
 */
function patientFetch(): typeof globalThis.fetch {
  const dispatcher = new Agent({ headersTimeout: 0, bodyTimeout: 0 });
  return (input: Parameters<typeof undiciFetch>[0], init?: Parameters<typeof undiciFetch>[1]) => undiciFetch(input, { ...init, dispatcher });
}

/** The openai SDK client both of tmax's clients use: tmax retries itself, and the request timeout governs alone. */
export function sdkClient(opts: OpenAIClientOptions): OpenAI {
  return new OpenAI({
    baseURL: opts.baseUrl,
    // Local servers (vLLM, llama.cpp, Ollama) accept any key; the SDK insists on one.
    apiKey: opts.apiKey || "EMPTY",
    // The SDK times a request with one setTimeout, which fires at once beyond Node's limit (util/timers.ts): a
    // longer timeout is held to that limit, about 24.8 days per request.
    timeout: Math.min((opts.requestTimeoutSec ?? 18000) * 1000, MAX_TIMER_MS),
    maxRetries: 0,
    fetch: patientFetch(),
  });
}

/** The served model name for a `-m` value: LiteLLM-style `openai/` prefixes are dropped. */
export function servedModelName(model: string): string {
  return model.startsWith("openai/") ? model.slice("openai/".length) : model;
}

interface RawUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  completion_tokens_details?: { reasoning_tokens?: number } | null;
  prompt_tokens_details?: { cached_tokens?: number } | null;
  cost?: number;
}

function usageOf(raw: RawUsage | undefined | null): ModelUsage {
  return {
    promptTokens: raw?.prompt_tokens ?? 0,
    completionTokens: raw?.completion_tokens ?? 0,
    reasoningTokens: raw?.completion_tokens_details?.reasoning_tokens ?? 0,
    cachedTokens: raw?.prompt_tokens_details?.cached_tokens ?? 0,
    costUsd: typeof raw?.cost === "number" ? raw.cost : null,
  };
}

interface RawChoice {
  message?: unknown;
  finish_reason?: string;
  /** vLLM with return_token_ids. */
  token_ids?: unknown;
  prompt_token_ids?: unknown;
  logprobs?: { content?: { logprob?: unknown }[] | null } | null;
}

const isIntArray = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => Number.isInteger(x));

/** The token data of a reply: vLLM's prompt_token_ids (response or choice level) and token_ids, and chat logprobs. */
function tokensOf(completion: { prompt_token_ids?: unknown }, choice: RawChoice): TurnTokens | undefined {
  const prompt = isIntArray(completion.prompt_token_ids) ? completion.prompt_token_ids : isIntArray(choice.prompt_token_ids) ? choice.prompt_token_ids : null;
  const completionIds = isIntArray(choice.token_ids) ? choice.token_ids : null;
  const content = choice.logprobs?.content;
  const logprobs = Array.isArray(content) && content.every((t) => typeof t?.logprob === "number") ? content.map((t) => t.logprob as number) : null;
  if (prompt === null && completionIds === null && logprobs === null) return undefined;
  return { promptTokenIds: prompt, completionTokenIds: completionIds, logprobs };
}

/** Request fields for token details, and the words a server's rejection of each would contain. */
const TOKEN_DETAIL_PARAMS = [
  { field: "return_token_ids", mention: /return_token_ids/i },
  { field: "logprobs", mention: /logprobs/i },
] as const;

/** Chat completions with tools through the official openai SDK, against any OpenAI-compatible server. */
export class OpenAIChatClient implements ModelClient {
  readonly model: string;
  private readonly client: OpenAI;
  private readonly retry: RetryPolicy;
  /** Token-detail fields this server rejected once; never sent again. */
  private readonly rejectedParams = new Set<string>();

  constructor(private readonly opts: OpenAIClientOptions) {
    this.model = servedModelName(opts.model);
    this.retry = opts.retry ?? DEFAULT_RETRY;
    this.client = sdkClient(opts);
  }

  async complete(messages: ChatMessage[], tools: FunctionTool[], params: SamplingParams, signal?: AbortSignal): Promise<ModelReply> {
    // An empty tools list is omitted: some servers (OpenAI) reject `tools: []`.
    const body: Record<string, unknown> = { model: this.model, messages, ...(tools.length > 0 ? { tools } : {}), ...(params.extraBody ?? {}) };
    if (params.temperature != null) body.temperature = params.temperature;
    if (params.top_p != null) body.top_p = params.top_p;
    if (params.max_tokens != null) body[params.maxTokensParam ?? "max_tokens"] = params.max_tokens;
    if (params.tokenDetails) {
      for (const { field } of TOKEN_DETAIL_PARAMS) if (!this.rejectedParams.has(field)) body[field] = true;
    }
    const started = performance.now();
    const ctx = { baseUrl: this.opts.baseUrl, model: this.model };
    // A per-call signal: the SDK leaves a listener on the signal it is given, and a run's signal lives for 64 calls.
    const local = new AbortController();
    const onAbort = (): void => local.abort(signal?.reason);
    if (signal?.aborted) onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    const { value, attempts } = await withRetries(
      async () => {
        const completion = await this.createDroppingRejectedParams(body, local.signal, ctx);
        const choice = (completion as { choices?: RawChoice[] }).choices?.[0];
        if (!choice?.message) throw new ModelError("transient", "the server returned no choices");
        return { completion, choice };
      },
      this.retry,
      {
        signal: local.signal,
        classify: (err) => classifyError(err, ctx),
        onRetry: (err, attempt, delay) => this.opts.onRetry?.(retryNotice(err, attempt, this.retry, delay)),
      },
    ).finally(() => signal?.removeEventListener("abort", onAbort));
    const raw = value.choice.message as ChatMessage;
    const message: ChatMessage = { ...raw, role: "assistant", content: raw.content ?? null };
    const tokens = params.tokenDetails ? tokensOf(value.completion as { prompt_token_ids?: unknown }, value.choice) : undefined;
    return {
      message,
      finishReason: value.choice.finish_reason ?? null,
      usage: usageOf((value.completion as { usage?: RawUsage }).usage),
      latencySec: (performance.now() - started) / 1000,
      attempts,
      ...(tokens ? { tokens } : {}),
    };
  }

  /**
   * One request. A server that rejects a token-detail field (e.g. OpenAI's API refuses vLLM's `return_token_ids`) is
   * asked again without it, and the field is not sent again; every other error is the caller's.
   */
  private async createDroppingRejectedParams(body: Record<string, unknown>, signal: AbortSignal, ctx: { baseUrl: string; model: string }): Promise<unknown> {
    for (;;) {
      try {
        return await this.client.chat.completions.create(body as never, { signal });
      } catch (err) {
        const e = classifyError(err, ctx);
        const rejected = TOKEN_DETAIL_PARAMS.find((p) => p.field in body && (e.kind === "unsupported_parameter" || e.kind === "bad_request") && p.mention.test(e.message));
        if (!rejected) throw err;
        this.rejectedParams.add(rejected.field);
        delete body[rejected.field];
        this.opts.onRetry?.(`the server does not accept "${rejected.field}"; asking again without it`);
      }
    }
  }
}

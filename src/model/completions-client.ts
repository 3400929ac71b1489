import type OpenAI from "openai";
import { cacheSalt } from "./cache-salt.js";
import { readTokenCompletion } from "./completion-reply.js";
import { classifyError } from "./errors.js";
import { sdkClient, servedModelName, type OpenAIClientOptions } from "./openai-client.js";
import { DEFAULT_RETRY, retryNotice, withRetries, type RetryPolicy } from "./retry.js";
import type { TokenModelClient, TokenReply, TokenRequest } from "./types.js";

function checkRequest(r: TokenRequest): void {
  if (r.promptIds.length === 0) throw new RangeError("the prompt has no token ids");
  if (!r.promptIds.every((id) => Number.isSafeInteger(id) && id >= 0)) throw new RangeError("prompt token ids must be integers ≥ 0");
  if (!Number.isSafeInteger(r.maxTokens) || r.maxTokens < 1) throw new RangeError(`maxTokens must be an integer ≥ 1, not ${r.maxTokens}`);
  if (!Number.isSafeInteger(r.seed)) throw new RangeError(`the seed must be an integer, not ${r.seed}`);
  if (!(r.temperature >= 0)) throw new RangeError(`temperature must be ≥ 0, not ${r.temperature}`);
  if (!(r.topP > 0 && r.topP <= 1)) throw new RangeError(`topP must be in (0, 1], not ${r.topP}`);
}

/**
 * The /v1/completions body of one sample: the prompt as token ids; the sampled token's logprob per position
 * (`logprobs: 1`); vLLM's token ids of prompt and completion (`return_token_ids`); special tokens kept in the text and
 * the end-of-sequence token included (turns end at EOS, and the text must show it); the prefix-cache salt of the
 * sample's group and policy version.
 */
function completionBody(model: string, r: TokenRequest): Record<string, unknown> {
  return {
    model,
    prompt: r.promptIds,
    max_tokens: r.maxTokens,
    temperature: r.temperature,
    top_p: r.topP,
    seed: r.seed,
    logprobs: 1,
    return_token_ids: true,
    skip_special_tokens: false,
    include_stop_str_in_output: true,
    cache_salt: cacheSalt(r.group, r.policyVersion),
  };
}

/**
 * Token-in/token-out sampling through vLLM's OpenAI-compatible /v1/completions, with the chat client's retry rules:
 * transient faults (5xx, 429, 408, 409, dropped connections, timeouts, a server-side abort) are retried with back-off
 * or the server's Retry-After; the rest, and a server that does not return token ids, fail at once.
 */
export class CompletionsTokenClient implements TokenModelClient {
  readonly model: string;
  private readonly client: OpenAI;
  private readonly retry: RetryPolicy;

  constructor(private readonly opts: OpenAIClientOptions) {
    this.model = servedModelName(opts.model);
    this.retry = opts.retry ?? DEFAULT_RETRY;
    this.client = sdkClient(opts);
  }

  async sample(request: TokenRequest, signal?: AbortSignal): Promise<TokenReply> {
    checkRequest(request);
    const body = completionBody(this.model, request);
    const ctx = { baseUrl: this.opts.baseUrl, model: this.model };
    const started = performance.now();
    // A per-call signal, so no listener stays on the caller's long-lived one.
    const local = new AbortController();
    const onAbort = (): void => local.abort(signal?.reason);
    if (signal?.aborted) onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    const { value, attempts } = await withRetries(
      async () => readTokenCompletion(await this.client.completions.create(body as never, { signal: local.signal }), request.promptIds, this.opts.baseUrl),
      this.retry,
      {
        signal: local.signal,
        classify: (err) => classifyError(err, ctx),
        onRetry: (err, attempt, delay) => this.opts.onRetry?.(retryNotice(err, attempt, this.retry, delay)),
      },
    ).finally(() => signal?.removeEventListener("abort", onAbort));
    return { ...value, latencySec: (performance.now() - started) / 1000, attempts };
  }
}

import { ModelError } from "./errors.js";
import type { TokenFinishReason, TokenReply, WeightVersionSpan } from "./types.js";

/** The parts of a /v1/completions reply a token-in/token-out rollout reads (vLLM's CompletionResponse). */
interface RawCompletionChoice {
  text?: unknown;
  finish_reason?: unknown;
  /** With return_token_ids (vLLM ≥ 0.10.2). */
  token_ids?: unknown;
  prompt_token_ids?: unknown;
  /** With logprobs: n — token_logprobs[i] is the logprob of the sampled token i. */
  logprobs?: { token_logprobs?: unknown } | null;
  /** vLLM's per-output weight labels, where a server reports them on the choice. */
  weight_versions?: unknown;
}

interface RawCompletion {
  choices?: RawCompletionChoice[];
  usage?: { prompt_tokens_details?: { cached_tokens?: unknown } | null } | null;
}

const isTokenIds = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => Number.isSafeInteger(x) && (x as number) >= 0);

function sameIds(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function weightVersionsOf(raw: unknown): WeightVersionSpan[] | null {
  if (!Array.isArray(raw)) return null;
  const spans: WeightVersionSpan[] = [];
  for (const s of raw as { version?: unknown; start?: unknown; end?: unknown }[]) {
    if (typeof s?.version !== "string" || !Number.isSafeInteger(s.start) || !Number.isSafeInteger(s.end)) return null;
    spans.push({ version: s.version, start: s.start as number, end: s.end as number });
  }
  return spans;
}

function finishReasonOf(raw: unknown): TokenFinishReason {
  if (raw === "stop" || raw === "length") return raw;
  // vLLM ends a request it aborted (POST /pause?mode=abort, /abort_requests, a lost engine) with "abort" and the
  // tokens so far; the partial sample is dropped and the request made again.
  if (raw === "abort") throw new ModelError("transient", 'the server aborted the request (finish_reason "abort")');
  throw new ModelError("bad_request", `unexpected finish_reason ${JSON.stringify(raw)} (expected "stop" or "length")`);
}

/**
 * The sampled ids, their logprobs, the finish reason and the weight versions of a /v1/completions reply, checked:
 * token-in/token-out needs the ids and logprobs themselves, so a server that sends text only is an error that says
 * so, and a reply whose prompt ids differ from the ones sent (a server that re-tokenized or added a BOS) is refused.
 */
export function readTokenCompletion(raw: unknown, sentPromptIds: number[], baseUrl: string): Omit<TokenReply, "latencySec" | "attempts"> {
  const completion = raw as RawCompletion;
  const choice = completion.choices?.[0];
  if (!choice) throw new ModelError("transient", "the server returned no choices");
  const finishReason = finishReasonOf(choice.finish_reason);
  if (!isTokenIds(choice.token_ids)) {
    throw new ModelError(
      "unsupported_parameter",
      `${baseUrl} returned text but no token ids: token-in/token-out needs a server that honours return_token_ids (vLLM ≥ 0.10.2)`,
    );
  }
  const ids = choice.token_ids;
  const logprobs = choice.logprobs?.token_logprobs;
  if (!Array.isArray(logprobs)) {
    throw new ModelError("unsupported_parameter", `${baseUrl} returned no logprobs of the sampled tokens (logprobs.token_logprobs), though asked for them`);
  }
  if (logprobs.length !== ids.length || !logprobs.every((lp) => typeof lp === "number" && !Number.isNaN(lp))) {
    throw new ModelError("bad_request", `${baseUrl} returned ${ids.length} token ids but logprobs.token_logprobs of ${logprobs.length} entries, or entries that are not numbers`);
  }
  const promptIds = choice.prompt_token_ids;
  if (isTokenIds(promptIds) && !sameIds(promptIds, sentPromptIds)) {
    throw new ModelError(
      "bad_request",
      `${baseUrl} sampled from other prompt ids than were sent (${promptIds.length} ids reported, ${sentPromptIds.length} sent): it must take the prompt ids as they are`,
    );
  }
  const cached = completion.usage?.prompt_tokens_details?.cached_tokens;
  return {
    ids,
    logprobs: logprobs as number[],
    finishReason,
    text: typeof choice.text === "string" ? choice.text : "",
    weightVersions: weightVersionsOf(choice.weight_versions),
    cachedPromptTokens: typeof cached === "number" ? cached : null,
  };
}

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { readTokenCompletion } from "../../model/completion-reply.js";
import type { HfTokenizer } from "../../model/hf/hf-tokenizer.js";
import { setLongTimeout } from "../../util/timers.js";
import { serverRootUrl } from "../inference-control.js";

/**
 * Start-up guards of `tmax train` (issue 11, requirement 4): settings the loss cannot train with, and an inference
 * server that would feed the learner garbage — another tokenizer than the model dir's, no token ids, no logprobs —
 * are refused before the first rollout, with a message that says what is wrong.
 */

export class GuardError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GuardError";
  }
}

export interface LossSettings {
  loss: "dppo" | "dppo-kl" | "ppo-clip" | "sft";
  /** DPPO's trust-region δ. */
  delta: number;
}

/** DPPO (and DPPO-KL) mask tokens by |π − μ| against the behaviour policy: δ must be a finite number > 0. */
export function checkLossSettings(s: LossSettings): void {
  if ((s.loss === "dppo" || s.loss === "dppo-kl") && !(Number.isFinite(s.delta) && s.delta > 0)) {
    throw new GuardError(`${s.loss} needs a trust-region δ > 0 (--delta), not ${s.delta}`);
  }
}

/** DPPO's ratio is against the behaviour logprob μ of every sampled token: a rollout whose sampled tokens lack one
 *  (NaN) cannot be trained on with it. `logprobs` and `mask` are a rollout's response columns. */
export function checkBehaviourLogprobs(loss: LossSettings["loss"], logprobs: ArrayLike<number>, mask: ArrayLike<number>, what: string): void {
  if (loss === "sft") return;
  let missing = 0;
  for (let i = 0; i < mask.length; i += 1) if (mask[i] === 1 && !Number.isFinite(logprobs[i]!)) missing += 1;
  if (missing > 0) throw new GuardError(`${what}: ${missing} sampled token(s) have no behaviour logprob; ${loss} needs the engine's logprob of every sampled token`);
}

/** The model's vocabulary (embedding rows): config.json `vocab_size` (or `text_config.vocab_size`). */
export async function modelVocabSize(modelDir: string): Promise<number> {
  const config = JSON.parse(await readFile(join(modelDir, "config.json"), "utf8")) as { vocab_size?: unknown; text_config?: { vocab_size?: unknown } };
  const size = config.vocab_size ?? config.text_config?.vocab_size;
  if (!Number.isSafeInteger(size) || (size as number) < 1) throw new GuardError(`${modelDir}/config.json has no vocab_size`);
  return size as number;
}

export interface TokenizerProbeOptions {
  /** The base URL (…/v1). */
  baseUrl: string;
  /** The served model name to ask for. */
  model: string;
  tokenizer: HfTokenizer;
  /** The model dir's vocabulary size (modelVocabSize). */
  vocabSize: number;
  apiKey?: string | null;
  /** Per request (default 60 s). */
  timeoutMs?: number;
  /** The known string of the round trip (default: text with ASCII, accents, CJK, emoji, code and whitespace). */
  probeText?: string;
}

export const DEFAULT_PROBE_TEXT = "tmax probe: ls -la /tmp && echo \"héllo wörld\" | wc -c  # 终端 🚀\n\tdone";

interface RawChoice {
  text?: unknown;
  token_ids?: unknown;
  prompt_token_ids?: unknown;
}

/**
 * Checks that the server at `baseUrl` serves with the model dir's tokenizer and returns what token-in/token-out
 * training needs, with requests any vLLM ≥ 0.10.2 (and tmax's reference server) answers:
 *
 * 1. a token-id prompt is sampled and its reply read as rollouts read it (readTokenCompletion): a server that returns
 *    no token ids, no logprobs, logprobs that are not ≤ 0, or other prompt ids than were sent fails here;
 * 2. round trip: the probe text sent as a string comes back as `prompt_token_ids` equal to the local tokenizer's ids
 *    (with its special tokens, as vLLM adds them to a completions prompt), and the ids the server sampled decode
 *    locally to the text it returned;
 * 3. EOS: the EOS token's text is the single id the local tokenizer gives it (eosTokenId);
 * 4. vocabulary: the largest special-token id is accepted in a prompt and `vocabSize` (one past the model's last
 *    embedding row) is refused with a 4xx — vLLM refuses ids past its tokenizer's, the reference server past its
 *    embedding: either way a larger server vocabulary shows.
 */
export async function probeServerTokenizer(o: TokenizerProbeOptions): Promise<void> {
  const url = `${serverRootUrl(o.baseUrl)}/v1/completions`;
  const tk = o.tokenizer;
  const text = o.probeText ?? DEFAULT_PROBE_TEXT;
  const base = { model: o.model, max_tokens: 4, temperature: 0, logprobs: 1, return_token_ids: true, skip_special_tokens: false, include_stop_str_in_output: true };
  const post = (body: Record<string, unknown>): Promise<{ status: number; json: unknown; text: string }> => postJson(url, { ...base, ...body }, o.apiKey ?? null, o.timeoutMs ?? 60_000);
  const fail = (what: string): never => {
    throw new GuardError(`${o.baseUrl} (model ${o.model}) does not match ${tk.modelDir}: ${what}`);
  };

  // 1. ids and logprobs, read as the rollouts read them.
  const localIds = tk.encode(text, { addSpecialTokens: true });
  const sampled = await post({ prompt: localIds });
  if (sampled.status !== 200) fail(`a token-id prompt was refused (HTTP ${sampled.status}: ${sampled.text.slice(0, 300)})`);
  let reply: ReturnType<typeof readTokenCompletion>;
  try {
    reply = readTokenCompletion(sampled.json, localIds, o.baseUrl);
  } catch (err) {
    throw new GuardError(`${o.baseUrl}: ${(err as Error).message}`);
  }
  if (!reply.logprobs.every((lp) => Number.isFinite(lp) && lp <= 0)) fail(`its logprobs are not log-probabilities (≤ 0): ${JSON.stringify(reply.logprobs)}`);

  // 2. round trip of a known string.
  const asText = await post({ prompt: text });
  if (asText.status !== 200) fail(`a text prompt was refused (HTTP ${asText.status}: ${asText.text.slice(0, 300)})`);
  const choice = (asText.json as { choices?: RawChoice[] }).choices?.[0];
  const serverIds = choice?.prompt_token_ids;
  if (!Array.isArray(serverIds)) fail("it returned no prompt_token_ids (return_token_ids unsupported: vLLM ≥ 0.10.2 is needed)");
  if (!sameIds(serverIds as number[], localIds)) {
    fail(`it tokenizes ${JSON.stringify(text)} as [${(serverIds as number[]).join(", ")}], the model dir as [${localIds.join(", ")}]`);
  }
  const outIds = choice?.token_ids;
  if (Array.isArray(outIds) && typeof choice?.text === "string") {
    const local = tk.decode(outIds as number[], { skipSpecialTokens: false });
    if (local !== choice.text) fail(`it decodes [${(outIds as number[]).join(", ")}] as ${JSON.stringify(choice.text)}, the model dir as ${JSON.stringify(local)}`);
  }

  // 3. the EOS id.
  const eosLocal = tk.encode(tk.eosToken, { addSpecialTokens: false });
  if (!sameIds(eosLocal, [tk.eosTokenId])) throw new GuardError(`${tk.modelDir}: the EOS token ${tk.eosToken} does not encode to its id ${tk.eosTokenId}`);
  const eos = await post({ prompt: tk.eosToken, add_special_tokens: false });
  const eosIds = (eos.json as { choices?: RawChoice[] } | null)?.choices?.[0]?.prompt_token_ids;
  if (eos.status !== 200 || !Array.isArray(eosIds)) fail(`the EOS probe got HTTP ${eos.status}: ${eos.text.slice(0, 300)}`);
  if (!sameIds(eosIds as number[], [tk.eosTokenId])) fail(`its EOS token ${tk.eosToken} is [${(eosIds as number[]).join(", ")}], the model dir's is ${tk.eosTokenId}`);

  // 4. the vocabulary's size.
  const topId = Math.max(tk.eosTokenId, ...tk.specialTokenIds.values());
  const top = await post({ prompt: [topId], max_tokens: 1 });
  if (top.status !== 200) fail(`it refuses token id ${topId} (the model dir's largest special token): HTTP ${top.status}: ${top.text.slice(0, 300)}`);
  const past = await post({ prompt: [o.vocabSize], max_tokens: 1 });
  if (past.status === 200) fail(`it accepts token id ${o.vocabSize}, past the model dir's vocabulary of ${o.vocabSize}: its vocabulary is larger`);
  if (past.status >= 500) fail(`the vocabulary probe got HTTP ${past.status}: ${past.text.slice(0, 300)}`);
}

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

async function postJson(url: string, body: unknown, apiKey: string | null, timeoutMs: number): Promise<{ status: number; json: unknown; text: string }> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (apiKey) headers.authorization = `Bearer ${apiKey}`;
  const deadline = new AbortController();
  const timer = setLongTimeout(() => deadline.abort(), timeoutMs);
  try {
    const reply = await fetch(url, { method: "POST", headers, body: JSON.stringify(body), signal: deadline.signal });
    const text = await reply.text();
    let json: unknown = null;
    try {
      json = JSON.parse(text);
    } catch {
      // not JSON: the status and text say it
    }
    return { status: reply.status, json, text };
  } catch (err) {
    const reason = deadline.signal.aborted ? `no reply within ${timeoutMs / 1000} s` : (err as Error).message;
    throw new GuardError(`POST ${url}: ${reason}`);
  } finally {
    timer.clear();
  }
}

import { Hono } from "hono";
import { serveOnLoopback } from "./loopback-server.js";

/**
 * A real HTTP server speaking vLLM's /v1/completions for token-in/token-out rollouts, replaying scripted samples
 * (no model runs in tests). It answers as vLLM does: token ids only when `return_token_ids` is set, logprobs only when
 * `logprobs` is, the prompt ids echoed back, a sample cut at `max_tokens` with finish_reason "length"; it refuses a
 * prompt that is not a list of token ids (400, as vLLM's validation). Every request is recorded.
 */

/** A sampled completion. */
export interface SampleTurn {
  ids: number[];
  /** Logprob of each id; default −(id mod 7)/10, deterministic. */
  logprobs?: number[];
  /** Default "stop"; "length" is also reported, whatever the script says, when max_tokens cuts `ids`. */
  finishReason?: string;
  /** The sample's text; default: the server's decode of the ids. */
  text?: string;
  /** vLLM's weight_versions on the choice; none by default (as /v1/completions of the vLLM versions read). */
  weightVersions?: { version: string; start: number; end: number }[];
  /** false: a server that ignores return_token_ids (before vLLM 0.10.2, or not vLLM): text and logprobs only. */
  tokenIds?: false;
  /** Prompt ids to report instead of the ones received (a server that re-tokenized the prompt). */
  reportedPromptIds?: number[];
  /** Answer only after this many ms (released at once when the server closes). */
  delayMs?: number;
}

/** An HTTP error answer (vLLM's ErrorResponse shape), with extra headers such as Retry-After. */
export interface ErrorTurn {
  error: { status: number; message?: string; headers?: Record<string, string> };
  delayMs?: number;
}

export type TokenTurn = SampleTurn | ErrorTurn;

export interface TokenRequestBody {
  model: string;
  prompt: unknown;
  max_tokens?: number;
  temperature?: number;
  top_p?: number;
  seed?: number;
  logprobs?: number;
  return_token_ids?: boolean;
  skip_special_tokens?: boolean;
  include_stop_str_in_output?: boolean;
  cache_salt?: string;
  [field: string]: unknown;
}

export interface RecordedTokenRequest {
  body: TokenRequestBody;
  headers: Record<string, string>;
}

/** A call to the control plane stand-in (vLLM's dev-mode RL endpoints, as tmax drives them). */
export interface RecordedControlCall {
  path: string;
  body: unknown;
  /** Completion requests answered before this call (where in the stream of samples it came). */
  afterRequests: number;
}

export interface ScriptedTokenServer {
  /** Base URL, ending in /v1. */
  url: string;
  requests: RecordedTokenRequest[];
  /** Control calls, in order (pause, resume, weight updates, versions). */
  controls: RecordedControlCall[];
  /** Scripted turns not yet served. */
  remaining(): number;
  close(): Promise<void>;
}

/** The default decode: each id as `<id>`. */
const showIds = (ids: number[]): string => ids.map((id) => `<${id}>`).join("");

export const defaultLogprob = (id: number): number => 0 - (id % 7) / 10;

let completionSeq = 0;

function isTokenIdList(v: unknown): v is number[] {
  return Array.isArray(v) && v.length > 0 && v.every((x) => Number.isSafeInteger(x) && (x as number) >= 0);
}

function completion(body: TokenRequestBody, turn: SampleTurn, decode: (ids: number[]) => string): Record<string, unknown> {
  const prompt = body.prompt as number[];
  const maxTokens = body.max_tokens ?? 16;
  const cut = turn.ids.length > maxTokens;
  const ids = cut ? turn.ids.slice(0, maxTokens) : turn.ids;
  const logprobs = (turn.logprobs ?? turn.ids.map(defaultLogprob)).slice(0, ids.length);
  const choice: Record<string, unknown> = {
    index: 0,
    text: cut || turn.text === undefined ? decode(ids) : turn.text,
    logprobs:
      body.logprobs == null
        ? null
        : { text_offset: ids.map((_, i) => i), token_logprobs: logprobs, tokens: ids.map((id) => decode([id])), top_logprobs: ids.map((id, i) => ({ [decode([id])]: logprobs[i] })) },
    finish_reason: cut ? "length" : (turn.finishReason ?? "stop"),
    stop_reason: null,
  };
  if (body.return_token_ids && turn.tokenIds !== false) {
    choice.token_ids = ids;
    choice.prompt_token_ids = turn.reportedPromptIds ?? prompt;
  }
  if (turn.weightVersions) choice.weight_versions = turn.weightVersions;
  return {
    id: `cmpl-${++completionSeq}`,
    object: "text_completion",
    created: Math.floor(Date.now() / 1000),
    model: body.model,
    choices: [choice],
    usage: { prompt_tokens: prompt.length, completion_tokens: ids.length, total_tokens: prompt.length + ids.length, prompt_tokens_details: { cached_tokens: 0 } },
  };
}

/**
 * Serves `turns` in order, one per request, or a function of the request (its prompt ids, its salt, …) and its
 * index (it may return a promise: the request is answered when it settles). A request beyond a list's end gets a 500 saying the script ran out. `decode` renders ids as text.
 */
export async function startScriptedTokenServer(
  turns: TokenTurn[] | ((req: RecordedTokenRequest, index: number) => TokenTurn | Promise<TokenTurn>),
  opts: { decode?: (ids: number[]) => string } = {},
): Promise<ScriptedTokenServer> {
  const requests: RecordedTokenRequest[] = [];
  const queue = Array.isArray(turns) ? [...turns] : null;
  const decode = opts.decode ?? showIds;
  const delays = new Set<() => void>();
  const app = new Hono();

  // A stand-in of vLLM's dev-mode control plane (pause/resume, the disk weight-transfer calls, weight versions):
  // it records each call and keeps the state tmax reads back. It loads no weights.
  const controls: RecordedControlCall[] = [];
  let paused = false;
  let weightVersion: string | null = null;
  const record = async (c: { req: { path: string; url: string; raw: Request } }): Promise<unknown> => {
    const text = await c.req.raw.text();
    const body = text ? (JSON.parse(text) as unknown) : null;
    const query = new URL(c.req.url).search;
    controls.push({ path: c.req.path + query, body, afterRequests: requests.length });
    return body;
  };
  app.post("/pause", async (c) => {
    await record(c);
    paused = true;
    return c.json({ status: "paused" });
  });
  app.post("/resume", async (c) => {
    await record(c);
    paused = false;
    return c.json({ status: "resumed" });
  });
  app.get("/is_paused", (c) => c.json({ is_paused: paused }));
  app.get("/weight_info", (c) => c.json({ weight_version: weightVersion }));
  app.post("/update_weight_version", async (c) => {
    const body = (await record(c)) as { new_version?: string };
    weightVersion = body.new_version ?? null;
    return c.json({ status: "ok" });
  });
  for (const path of ["/init_weight_transfer_engine", "/start_weight_update", "/update_weights"]) {
    app.post(path, async (c) => {
      await record(c);
      return c.json({ status: "ok" });
    });
  }
  app.post("/finish_weight_update", async (c) => {
    const body = (await record(c)) as { weight_version?: string };
    weightVersion = body.weight_version ?? weightVersion;
    return c.json({ status: "ok" });
  });

  app.get("/v1/models", (c) => c.json({ object: "list", data: [{ id: "scripted-token-model", object: "model", owned_by: "tmax-tests" }] }));

  app.post("/v1/completions", async (c) => {
    const body = await c.req.json<TokenRequestBody>();
    const req: RecordedTokenRequest = { body, headers: Object.fromEntries(c.req.raw.headers.entries()) };
    requests.push(req);
    const turn = queue ? queue.shift() : await (turns as (r: RecordedTokenRequest, i: number) => TokenTurn | Promise<TokenTurn>)(req, requests.length - 1);
    if (turn === undefined) return c.json({ error: { message: "the script has no more turns", type: "InternalServerError", param: null, code: 500 } }, 500);
    if (turn.delayMs !== undefined) {
      await new Promise<void>((resolve) => {
        const release = (): void => {
          clearTimeout(timer);
          delays.delete(release);
          resolve();
        };
        const timer = setTimeout(release, turn.delayMs);
        delays.add(release);
      });
    }
    if ("error" in turn) {
      const { status, message, headers } = turn.error;
      return c.json({ error: { message: message ?? `scripted ${status}`, type: "error", param: null, code: status } }, status as 500, headers);
    }
    if (!isTokenIdList(body.prompt)) {
      return c.json({ error: { message: "this server takes the prompt as a list of token ids", type: "BadRequestError", param: "prompt", code: 400 } }, 400);
    }
    return c.json(completion(body, turn, decode));
  });

  const loopback = await serveOnLoopback(app);
  return {
    url: loopback.url,
    requests,
    controls,
    remaining: () => queue?.length ?? 0,
    close: () => loopback.close(delays),
  };
}

import { Hono } from "hono";
import { serveOnLoopback } from "./loopback-server.js";

/**
 * A real HTTP server speaking the OpenAI chat-completions protocol that replays scripted turns — the only stand-in
 * the test suite uses, since no model runs here. Every request is recorded for assertions.
 */

export type Turn =
  /** A native tool call (what vLLM returns with a tool-call parser). `tokens: false`: no token data even when asked. */
  | { kind: "call"; command: string; content?: string | null; reasoning?: string; extraCalls?: { name: string; arguments: string }[]; tokens?: false }
  /** Raw tool_calls as the server would send them (for malformed-call cases). */
  | { kind: "raw_calls"; toolCalls: unknown[]; content?: string | null }
  /** Plain content (a server without a tool parser, or a reply with no call at all). */
  | { kind: "text"; content: string }
  /** An HTTP error response, with extra headers (e.g. Retry-After). */
  | { kind: "error"; status: number; message: string; type?: string; code?: string; headers?: Record<string, string> }
  /** Answer only after `ms` (longer than the client's request timeout = a hung request). */
  | { kind: "hang"; ms: number; then?: Turn }
  /** Close the connection without answering. */
  | { kind: "reset" }
  /** Answer 200 with JSON headers and the first part of a completion, then close the connection mid-body. */
  | { kind: "truncated" }
  /** Answer 200 with a JSON content type and a body that is not JSON. */
  | { kind: "malformed"; body: string };

export interface RecordedRequest {
  body: {
    model: string;
    messages: { role: string; content: string | null; tool_calls?: unknown[]; tool_call_id?: string; [k: string]: unknown }[];
    tools?: unknown[];
    temperature?: number;
    top_p?: number;
    max_tokens?: number;
    [k: string]: unknown;
  };
  headers: Record<string, string>;
}

export interface ScriptedModel {
  url: string;
  requests: RecordedRequest[];
  /** Turns not yet served. */
  remaining(): number;
  close(): Promise<void>;
}

let callSeq = 0;

/**
 * Token data as vLLM returns it when asked (`return_token_ids`, `logprobs`): made up but deterministic — prompt ids
 * 1..(10 × messages), completion ids from the reply's characters, logprob −(id mod 7)/10 per token.
 */
export function fakeTokens(body: RecordedRequest["body"], message: Record<string, unknown>): { promptIds: number[]; completionIds: number[]; logprobs: number[] } {
  const text = `${(message.content as string | null) ?? ""}${JSON.stringify(message.tool_calls ?? [])}`;
  const completionIds = Array.from(text, (ch) => ch.codePointAt(0)! % 1000);
  return {
    promptIds: Array.from({ length: 10 * body.messages.length }, (_, i) => i + 1),
    completionIds,
    logprobs: completionIds.map((id) => 0 - (id % 7) / 10),
  };
}

function completion(model: string, message: Record<string, unknown>, finish: string, body?: RecordedRequest["body"]): Record<string, unknown> {
  const choice: Record<string, unknown> = { index: 0, message, finish_reason: finish };
  const top: Record<string, unknown> = {};
  if (body && (body.return_token_ids || body.logprobs)) {
    const t = fakeTokens(body, message);
    if (body.return_token_ids) {
      top.prompt_token_ids = t.promptIds;
      choice.token_ids = t.completionIds;
    }
    if (body.logprobs) choice.logprobs = { content: t.logprobs.map((lp, i) => ({ token: String(t.completionIds[i]), logprob: lp, bytes: null, top_logprobs: [] })) };
  }
  return {
    id: `chatcmpl-${++callSeq}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model,
    ...top,
    choices: [choice],
    usage: {
      prompt_tokens: 100,
      completion_tokens: 10,
      total_tokens: 110,
      completion_tokens_details: { reasoning_tokens: 3 },
      prompt_tokens_details: { cached_tokens: 40 },
    },
  };
}

/**
 * Serves `turns` in order (one per request). `fallback` answers requests beyond the script (default: a submit
 * call). `perRequest` turns a script into a function of the request, for tests that need to see it.
 */
export async function startScriptedModel(
  turns: Turn[] | ((req: RecordedRequest, index: number) => Turn),
  opts: { fallback?: Turn; modelName?: string } = {},
): Promise<ScriptedModel> {
  const requests: RecordedRequest[] = [];
  const queue = Array.isArray(turns) ? [...turns] : null;
  const fallback: Turn = opts.fallback ?? { kind: "call", command: "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT" };
  const modelName = opts.modelName ?? "scripted-model";
  const app = new Hono();
  /** Pending hangs, released on close so no timer outlives the server. */
  const hangs = new Set<() => void>();

  app.get("/v1/models", (c) => c.json({ object: "list", data: [{ id: modelName, object: "model", owned_by: "tmax-tests" }] }));

  app.post("/v1/chat/completions", async (c) => {
    const body = await c.req.json<RecordedRequest["body"]>();
    const req: RecordedRequest = { body, headers: Object.fromEntries(c.req.raw.headers.entries()) };
    requests.push(req);
    let turn: Turn = queue ? (queue.shift() ?? fallback) : (turns as (r: RecordedRequest, i: number) => Turn)(req, requests.length - 1);
    while (turn.kind === "hang") {
      await new Promise<void>((r) => {
        const timer = setTimeout(() => {
          hangs.delete(release);
          r();
        }, (turn as { ms: number }).ms);
        const release = (): void => {
          clearTimeout(timer);
          r();
        };
        hangs.add(release);
      });
      turn = (turn as { then?: Turn }).then ?? fallback;
    }
    switch (turn.kind) {
      case "call": {
        const calls = [
          { id: `call_${++callSeq}`, type: "function", function: { name: "bash", arguments: JSON.stringify({ command: turn.command }) } },
          ...(turn.extraCalls ?? []).map((x) => ({ id: `call_${++callSeq}`, type: "function", function: x })),
        ];
        const message: Record<string, unknown> = { role: "assistant", content: turn.content ?? null, tool_calls: calls };
        if (turn.reasoning) message.reasoning_content = turn.reasoning;
        return c.json(completion(body.model, message, "tool_calls", turn.tokens === false ? undefined : body));
      }
      case "raw_calls":
        return c.json(completion(body.model, { role: "assistant", content: turn.content ?? null, tool_calls: turn.toolCalls }, "tool_calls", body));
      case "text":
        return c.json(completion(body.model, { role: "assistant", content: turn.content }, "stop", body));
      case "error":
        return c.json({ error: { message: turn.message, type: turn.type ?? "error", code: turn.code ?? null, param: null } }, turn.status as 400, turn.headers);
      case "reset": {
        const incoming = (c.env as { incoming?: { socket?: { destroy(): void } } }).incoming;
        incoming?.socket?.destroy();
        return new Response(null, { status: 500 });
      }
      case "truncated": {
        const socket = (c.env as { incoming?: { socket?: { destroy(): void } } }).incoming?.socket;
        const whole = JSON.stringify(completion(body.model, { role: "assistant", content: "cut short" }, "stop"));
        const head = new TextEncoder().encode(whole.slice(0, Math.floor(whole.length / 2)));
        // The headers and half the body reach the client; then the connection drops.
        const stream = new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(head);
            setTimeout(() => socket?.destroy(), 50);
          },
        });
        return new Response(stream, { status: 200, headers: { "content-type": "application/json" } });
      }
      case "malformed":
        return new Response(turn.body, { status: 200, headers: { "content-type": "application/json" } });
    }
  });

  const loopback = await serveOnLoopback(app);
  return {
    url: loopback.url,
    requests,
    remaining: () => queue?.length ?? 0,
    close: () => loopback.close(hangs).finally(() => hangs.clear()),
  };
}

/** The observation text the agent sent back for step `i` (tool messages in the last request). */
export function toolMessages(req: RecordedRequest): string[] {
  return req.body.messages.filter((m) => m.role === "tool").map((m) => m.content ?? "");
}

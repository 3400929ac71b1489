import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { cacheSalt } from "../../src/model/cache-salt.js";
import { CompletionsTokenClient } from "../../src/model/completions-client.js";
import { ModelError, ModelUnavailableError } from "../../src/model/errors.js";
import type { TokenRequest } from "../../src/model/types.js";
import { defaultLogprob, startScriptedTokenServer, type ScriptedTokenServer, type TokenTurn } from "../helpers/scripted-token-server.js";

const servers: ScriptedTokenServer[] = [];
after(async () => Promise.all(servers.map((s) => s.close())));

async function client(turns: TokenTurn[], opts: { attempts?: number; decode?: (ids: number[]) => string } = {}) {
  const server = await startScriptedTokenServer(turns, { decode: opts.decode });
  servers.push(server);
  const retries: string[] = [];
  const c = new CompletionsTokenClient({
    baseUrl: server.url,
    model: "openai/scripted-token-model",
    requestTimeoutSec: 30,
    retry: { attempts: opts.attempts ?? 5, baseDelaySec: 0.01, maxRetryAfterSec: 60 },
    onRetry: (m) => retries.push(m),
  });
  return { c, server, retries };
}

const request = (over: Partial<TokenRequest> = {}): TokenRequest => ({
  promptIds: [151644, 8948, 198, 2610],
  maxTokens: 16384,
  temperature: 1.0,
  topP: 1.0,
  seed: 42,
  group: "task-a#0",
  policyVersion: 3,
  ...over,
});

const rejectsWith = (kind: ModelError["kind"], message: RegExp) => (err: unknown) => {
  assert.ok(err instanceof ModelError, `a ModelError, got ${String(err)}`);
  assert.equal(err.kind, kind);
  assert.match(err.message, message);
  return true;
};

describe("token-in/token-out client (/v1/completions)", () => {
  test("sends the prompt as token ids with exactly the fields a rollout needs", async () => {
    const { c, server } = await client([{ ids: [9, 151645] }]);
    await c.sample(request({ seed: 45, maxTokens: 1000, temperature: 0.7, topP: 0.95 }));
    assert.deepEqual(server.requests[0]!.body, {
      model: "scripted-token-model",
      prompt: [151644, 8948, 198, 2610],
      max_tokens: 1000,
      temperature: 0.7,
      top_p: 0.95,
      seed: 45,
      logprobs: 1,
      return_token_ids: true,
      skip_special_tokens: false,
      include_stop_str_in_output: true,
      cache_salt: cacheSalt("task-a#0", 3),
    });
  });

  test("the cache salt follows the group and the policy version", async () => {
    const { c, server } = await client([{ ids: [1] }, { ids: [1] }, { ids: [1] }, { ids: [1] }]);
    await c.sample(request({ group: "g1", policyVersion: 3, seed: 42 }));
    await c.sample(request({ group: "g1", policyVersion: 3, seed: 43 }));
    await c.sample(request({ group: "g2", policyVersion: 3 }));
    await c.sample(request({ group: "g1", policyVersion: 4 }));
    const [a, b, otherGroup, newPolicy] = server.requests.map((r) => r.body.cache_salt);
    assert.equal(a, b, "samples of one group under one policy share the cached prompt");
    assert.notEqual(a, otherGroup);
    assert.notEqual(a, newPolicy, "a new policy never reuses KV cached under the old weights");
    assert.equal(newPolicy, cacheSalt("g1", 4));
  });

  test("reads the sampled ids, their logprobs, the finish reason and the text with special tokens", async () => {
    const vocab: Record<number, string> = { 40: "I", 1079: " am", 151645: "<|im_end|>" };
    const decode = (ids: number[]) => ids.map((id) => vocab[id] ?? "?").join("");
    const { c } = await client([{ ids: [40, 1079, 151645], logprobs: [-0.25, -1.5, -0.0001] }], { decode });
    const reply = await c.sample(request());
    assert.deepEqual(reply.ids, [40, 1079, 151645]);
    assert.deepEqual(reply.logprobs, [-0.25, -1.5, -0.0001]);
    assert.equal(reply.finishReason, "stop");
    assert.equal(reply.text, "I am<|im_end|>");
    assert.equal(reply.weightVersions, null, "this server reports no weight version");
    assert.equal(reply.cachedPromptTokens, 0);
    assert.equal(reply.attempts, 1);
    assert.ok(reply.latencySec >= 0);
  });

  test("a sample cut at max_tokens ends with finish reason length", async () => {
    const { c } = await client([{ ids: [5, 6, 7, 8, 9] }]);
    const reply = await c.sample(request({ maxTokens: 3 }));
    assert.deepEqual(reply.ids, [5, 6, 7]);
    assert.deepEqual(reply.logprobs, [5, 6, 7].map(defaultLogprob));
    assert.equal(reply.finishReason, "length");
  });

  test("the weight versions the server reports are read", async () => {
    const spans = [
      { version: "7", start: 0, end: 2 },
      { version: "8", start: 2, end: 3 },
    ];
    const { c } = await client([{ ids: [1, 2, 3], weightVersions: spans }]);
    assert.deepEqual((await c.sample(request())).weightVersions, spans);
  });

  test("a server that returns text but no token ids fails at once, saying why", async () => {
    const { c, server } = await client([{ ids: [1, 2], tokenIds: false }, { ids: [1, 2] }]);
    await assert.rejects(c.sample(request()), rejectsWith("unsupported_parameter", /returned text but no token ids.*return_token_ids \(vLLM ≥ 0\.10\.2\)/));
    assert.equal(server.requests.length, 1, "not retried: the server will not send them next time either");
  });

  test("logprobs that do not match the ids one to one are refused", async () => {
    const { c } = await client([{ ids: [1, 2, 3], logprobs: [-0.1, -0.2] }]);
    await assert.rejects(c.sample(request()), rejectsWith("bad_request", /3 token ids but logprobs\.token_logprobs of 2 entries/));
  });

  test("a server that sampled from other prompt ids than were sent is refused", async () => {
    const { c } = await client([{ ids: [1], reportedPromptIds: [1, 151644, 8948, 198, 2610] }]);
    await assert.rejects(c.sample(request()), rejectsWith("bad_request", /other prompt ids than were sent \(5 ids reported, 4 sent\)/));
  });

  test("a 503 with Retry-After is waited for, then retried", async () => {
    const { c, server, retries } = await client([{ error: { status: 503, message: "engine paused", headers: { "Retry-After": "1" } } }, { ids: [4, 2] }]);
    const started = performance.now();
    const reply = await c.sample(request());
    const waitedSec = (performance.now() - started) / 1000;
    assert.deepEqual(reply.ids, [4, 2]);
    assert.equal(reply.attempts, 2);
    assert.equal(server.requests.length, 2);
    assert.deepEqual(server.requests[1]!.body, server.requests[0]!.body, "the same request again: same ids, seed and salt");
    assert.ok(waitedSec >= 0.95 && waitedSec < 3, `waited ${waitedSec} s, the server asked for 1 s (the back-off alone is 0.01 s)`);
    assert.match(retries[0]!, /503.*retry 1 of 4 in 1 s \(the server asked for 1 s\)/);
  });

  test("transient faults are retried until the attempts run out", async () => {
    const { c, server, retries } = await client(
      [
        { error: { status: 500, message: "engine hiccup" } },
        { error: { status: 429, message: "slow down" } },
      ],
      { attempts: 2 },
    );
    await assert.rejects(c.sample(request()), (err: unknown) => err instanceof ModelUnavailableError && /slow down.*gave up after 2 attempts/.test(err.message));
    assert.equal(server.requests.length, 2);
    assert.equal(retries.length, 1);
  });

  test("a 400 is not retried", async () => {
    const { c, server } = await client([{ error: { status: 400, message: "max_tokens is too large" } }, { ids: [1] }]);
    await assert.rejects(c.sample(request()), rejectsWith("bad_request", /answered 400: .*max_tokens is too large/));
    assert.equal(server.requests.length, 1);
  });

  test('a request the server aborted (finish_reason "abort") is sampled again', async () => {
    const { c, server } = await client([{ ids: [1, 2], finishReason: "abort" }, { ids: [3, 151645] }]);
    const reply = await c.sample(request());
    assert.deepEqual(reply.ids, [3, 151645], "the partial sample is dropped");
    assert.equal(reply.attempts, 2);
    assert.equal(server.requests.length, 2);
  });

  test("aborting stops a request in flight at once, with the caller's reason, and nothing is retried", async () => {
    const { c, server } = await client([{ ids: [1], delayMs: 10_000 }, { ids: [2] }]);
    const controller = new AbortController();
    const reason = new Error("run stopped");
    const started = performance.now();
    const pending = c.sample(request(), controller.signal);
    await new Promise((r) => setTimeout(r, 100));
    controller.abort(reason);
    await assert.rejects(pending, (err) => err === reason);
    assert.ok(performance.now() - started < 2000, "did not wait for the reply");
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(server.requests.length, 1);
  });

  test("aborting during the back-off ends the wait", async () => {
    const { c, server } = await client([{ error: { status: 503, message: "busy", headers: { "Retry-After": "30" } } }, { ids: [2] }]);
    const controller = new AbortController();
    const started = performance.now();
    const pending = c.sample(request(), controller.signal);
    await new Promise((r) => setTimeout(r, 200));
    controller.abort(new Error("stop"));
    await assert.rejects(pending, /stop/);
    assert.ok(performance.now() - started < 2000, "did not sit out the 30 s");
    assert.equal(server.requests.length, 1);
  });

  test("a signal aborted beforehand sends nothing", async () => {
    const { c, server } = await client([{ ids: [1] }]);
    await assert.rejects(c.sample(request(), AbortSignal.abort(new Error("already stopped"))), /already stopped/);
    assert.equal(server.requests.length, 0);
  });

  test("the scripted server can answer from the request: the next ids follow the prompt it was sent", async () => {
    const server = await startScriptedTokenServer((req) => ({ ids: [(req.body.prompt as number[]).length, 151645] }));
    servers.push(server);
    const c = new CompletionsTokenClient({ baseUrl: server.url, model: "scripted-token-model", retry: { attempts: 1, baseDelaySec: 0, maxRetryAfterSec: 0 } });
    const first = await c.sample(request({ promptIds: [1, 2, 3] }));
    const second = await c.sample(request({ promptIds: [1, 2, 3, ...first.ids, 7] }));
    assert.deepEqual(first.ids, [3, 151645]);
    assert.deepEqual(second.ids, [6, 151645]);
    assert.equal(server.requests.length, 2);
  });

  test("a request no server could sample is refused before sending", async () => {
    const { c, server } = await client([]);
    await assert.rejects(c.sample(request({ promptIds: [] })), RangeError);
    await assert.rejects(c.sample(request({ promptIds: [1, -2] })), RangeError);
    await assert.rejects(c.sample(request({ maxTokens: 0 })), RangeError);
    await assert.rejects(c.sample(request({ seed: 1.5 })), RangeError);
    await assert.rejects(c.sample(request({ policyVersion: -1 })), RangeError);
    assert.equal(server.requests.length, 0);
  });
});

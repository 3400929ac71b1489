import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { OpenAIChatClient, servedModelName } from "../../src/model/openai-client.js";
import { type ModelError } from "../../src/model/errors.js";
import { BASH_TOOL } from "../../src/agent/tmax/prompts.js";
import { fakeTokens, startScriptedModel, type ScriptedModel, type Turn } from "../helpers/scripted-model.js";

const servers: ScriptedModel[] = [];
after(async () => Promise.all(servers.map((s) => s.close())));

async function client(turns: Turn[], opts: { timeoutSec?: number; maxRetryAfterSec?: number } = {}) {
  const server = await startScriptedModel(turns);
  servers.push(server);
  const retries: string[] = [];
  const c = new OpenAIChatClient({
    baseUrl: server.url,
    model: "openai/scripted-model",
    requestTimeoutSec: opts.timeoutSec ?? 30,
    retry: { attempts: 5, baseDelaySec: 0.01, maxRetryAfterSec: opts.maxRetryAfterSec ?? 60 },
    onRetry: (m) => retries.push(m),
  });
  return { c, server, retries };
}

const hello = [{ role: "user" as const, content: "hi" }];

describe("OpenAI-compatible model client", () => {
  test("sends the model, tools and sampling parameters; reads usage", async () => {
    const { c, server } = await client([{ kind: "call", command: "ls", reasoning: "look first" }]);
    const reply = await c.complete(hello, [BASH_TOOL], { temperature: 0.7, top_p: 0.95, max_tokens: 16384, extraBody: { top_k: 20 } });
    const body = server.requests[0]!.body;
    assert.equal(body.model, "scripted-model", "the openai/ provider prefix is dropped");
    assert.equal(body.temperature, 0.7);
    assert.equal(body.top_p, 0.95);
    assert.equal(body.max_tokens, 16384);
    assert.equal(body.top_k, 20);
    assert.equal((body.tools as { function: { name: string } }[])[0]!.function.name, "bash");
    assert.equal(reply.message.reasoning_content, "look first", "extra fields are kept");
    assert.deepEqual(reply.usage, { promptTokens: 100, completionTokens: 10, reasoningTokens: 3, cachedTokens: 40, costUsd: null });
    assert.equal(reply.attempts, 1);
  });

  test("a 500 and a 429 are retried, then the reply is used", async () => {
    const { c, server, retries } = await client([
      { kind: "error", status: 500, message: "engine hiccup" },
      { kind: "error", status: 429, message: "slow down" },
      { kind: "call", command: "ls" },
    ]);
    const reply = await c.complete(hello, [BASH_TOOL], {});
    assert.equal(reply.attempts, 3);
    assert.equal(server.requests.length, 3);
    assert.equal(retries.length, 2);
    assert.match(retries[0]!, /500/);
  });

  test("a 429's Retry-After in seconds is waited for instead of the shorter back-off", async () => {
    const { c, server, retries } = await client([{ kind: "error", status: 429, message: "slow down", headers: { "Retry-After": "1" } }, { kind: "call", command: "ok" }]);
    const started = performance.now();
    const reply = await c.complete(hello, [BASH_TOOL], {});
    const waitedSec = (performance.now() - started) / 1000;
    assert.equal(reply.attempts, 2);
    assert.ok(waitedSec >= 0.95, `waited ${waitedSec} s, the server asked for 1 s (the back-off alone is 0.01 s)`);
    assert.ok(waitedSec < 3, `waited ${waitedSec} s`);
    assert.match(retries[0]!, /429.*retry 1 of 4 in 1 s \(the server asked for 1 s\)/);
    assert.equal(server.requests.length, 2);
  });

  test("a 503's Retry-After is capped at maxRetryAfterSec", async () => {
    const { c, retries } = await client([{ kind: "error", status: 503, message: "overloaded", headers: { "Retry-After": "3600" } }, { kind: "call", command: "ok" }], {
      maxRetryAfterSec: 0.3,
    });
    const started = performance.now();
    assert.equal((await c.complete(hello, [BASH_TOOL], {})).attempts, 2);
    const waitedSec = (performance.now() - started) / 1000;
    assert.ok(waitedSec >= 0.28 && waitedSec < 3, `waited ${waitedSec} s: the cap, not the hour asked for`);
    assert.match(retries[0]!, /in 0\.3 s \(the server asked for 3600 s\)/);
  });

  test("a hung request times out and is retried", async () => {
    const { c, server } = await client([{ kind: "hang", ms: 3000, then: { kind: "call", command: "late" } }, { kind: "call", command: "ok" }], { timeoutSec: 0.5 });
    const started = Date.now();
    const reply = await c.complete(hello, [BASH_TOOL], {});
    assert.ok(Date.now() - started < 2500, "did not wait for the hung request");
    assert.equal(JSON.parse(reply.message.tool_calls![0]!.function.arguments).command, "ok");
    assert.equal(server.requests.length, 2);
  });

  test("a dropped connection is retried", async () => {
    const { c } = await client([{ kind: "reset" }, { kind: "call", command: "ok" }]);
    assert.equal((await c.complete(hello, [BASH_TOOL], {})).attempts, 2);
  });

  test("a connection dropped in the middle of a 200 body is retried", async () => {
    const { c, server, retries } = await client([{ kind: "truncated" }, { kind: "call", command: "ok" }]);
    const reply = await c.complete(hello, [BASH_TOOL], {});
    assert.equal(reply.attempts, 2);
    assert.equal(server.requests.length, 2);
    assert.match(retries[0]!, /connection to http:\/\/127\.0\.0\.1:\d+\/v1 dropped.*UND_ERR_SOCKET/);
  });

  test("a 200 whose body is not JSON is retried", async () => {
    const { c, server, retries } = await client([{ kind: "malformed", body: "{not json" }, { kind: "call", command: "ok" }]);
    const reply = await c.complete(hello, [BASH_TOOL], {});
    assert.equal(reply.attempts, 2);
    assert.equal(server.requests.length, 2);
    assert.match(retries[0]!, /malformed reply/);
  });

  test("bodies cut short or malformed every time: ModelUnavailableError after the last attempt", async () => {
    const turns: Turn[] = [{ kind: "truncated" }, { kind: "malformed", body: "{not json" }, { kind: "truncated" }, { kind: "malformed", body: "<html>" }, { kind: "truncated" }];
    const { c, server } = await client(turns);
    await assert.rejects(c.complete(hello, [BASH_TOOL], {}), (e: ModelError) => {
      assert.equal(e.name, "ModelUnavailableError");
      assert.equal(e.kind, "transient");
      assert.match(e.message, /gave up after 5 attempts/);
      return true;
    });
    assert.equal(server.requests.length, 5);
  });

  test("401 stops at once with a clear message (no retry)", async () => {
    const { c, server } = await client([{ kind: "error", status: 401, message: "Invalid API key" }]);
    await assert.rejects(c.complete(hello, [BASH_TOOL], {}), (e: ModelError) => {
      assert.equal(e.kind, "authentication");
      assert.equal(e.name, "AuthenticationError");
      assert.match(e.message, /401.*Invalid API key.*--api-key/);
      return true;
    });
    assert.equal(server.requests.length, 1);
  });

  test("404 model not found stops at once and says how to list models", async () => {
    const { c, server } = await client([{ kind: "error", status: 404, message: "The model `x` does not exist." }]);
    await assert.rejects(c.complete(hello, [BASH_TOOL], {}), (e: ModelError) => e.kind === "not_found" && /\/models/.test(e.message));
    assert.equal(server.requests.length, 1);
  });

  test("a context-window error is recognised and not retried", async () => {
    const { c, server } = await client([
      { kind: "error", status: 400, message: "This model's maximum context length is 32768 tokens. However, you requested 40000 tokens." },
    ]);
    await assert.rejects(c.complete(hello, [BASH_TOOL], {}), (e: ModelError) => e.kind === "context_window" && e.name === "ContextWindowExceededError");
    assert.equal(server.requests.length, 1);
  });

  test("after 5 failed attempts the last error is reported", async () => {
    const { c, server } = await client(Array.from({ length: 6 }, () => ({ kind: "error", status: 503, message: "overloaded" })));
    await assert.rejects(c.complete(hello, [BASH_TOOL], {}), (e: ModelError) => e.name === "ModelUnavailableError" && /gave up after 5 attempts/.test(e.message));
    assert.equal(server.requests.length, 5);
  });

  test("nothing listening: connection refused is transient and reported with the URL", async () => {
    const c = new OpenAIChatClient({ baseUrl: "http://127.0.0.1:9/v1", model: "m", retry: { attempts: 2, baseDelaySec: 0.01, maxRetryAfterSec: 60 } });
    await assert.rejects(c.complete(hello, [BASH_TOOL], {}), /cannot reach http:\/\/127\.0\.0\.1:9\/v1/);
  });

  test("token details on request: vLLM's prompt_token_ids and token_ids, and the chat logprobs", async () => {
    const { c, server } = await client([{ kind: "call", command: "ls" }, { kind: "call", command: "pwd" }]);
    const plain = await c.complete(hello, [BASH_TOOL], {});
    assert.equal(plain.tokens, undefined);
    assert.equal(server.requests[0]!.body.return_token_ids, undefined, "not asked for by default");
    assert.equal(server.requests[0]!.body.logprobs, undefined);
    const detailed = await c.complete(hello, [BASH_TOOL], { tokenDetails: true });
    const body = server.requests[1]!.body;
    assert.equal(body.return_token_ids, true);
    assert.equal(body.logprobs, true);
    const expected = fakeTokens(body, detailed.message);
    assert.deepEqual(detailed.tokens, { promptTokenIds: expected.promptIds, completionTokenIds: expected.completionIds, logprobs: expected.logprobs });
    assert.ok(expected.completionIds.length > 10);
  });

  test("a server that rejects return_token_ids is asked again without it, and never again with it", async () => {
    const { c, server, retries } = await client([
      { kind: "error", status: 400, message: "Unrecognized request argument supplied: return_token_ids" },
      { kind: "call", command: "ls" },
      { kind: "call", command: "pwd" },
    ]);
    const first = await c.complete(hello, [BASH_TOOL], { tokenDetails: true });
    assert.equal(server.requests.length, 2);
    assert.equal(server.requests[1]!.body.return_token_ids, undefined);
    assert.equal(first.tokens?.promptTokenIds, null, "no ids without return_token_ids");
    assert.equal(first.tokens?.logprobs?.length, first.tokens && fakeTokens(server.requests[1]!.body, first.message).logprobs.length);
    assert.match(retries[0]!, /does not accept "return_token_ids"/);
    await c.complete(hello, [BASH_TOOL], { tokenDetails: true });
    assert.equal(server.requests[2]!.body.return_token_ids, undefined);
    assert.equal(server.requests[2]!.body.logprobs, true);
  });

  test("served model name", () => {
    assert.equal(servedModelName("openai/tmax-9b"), "tmax-9b");
    assert.equal(servedModelName("Qwen/Qwen3-8B"), "Qwen/Qwen3-8B");
  });
});

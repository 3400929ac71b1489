import assert from "node:assert/strict";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import type { AgentRunContext } from "../../src/agent/agent.js";
import { createAgent } from "../../src/agent/registry.js";
import type { EpisodeEvent } from "../../src/agent/tmax/episode.js";
import { SUBMIT_MARKER } from "../../src/agent/tmax/prompts.js";
import { emptyAgentContext } from "../../src/harbor/trial-schema.js";
import { ModelError } from "../../src/model/errors.js";
import type { ChatMessage, ModelClient, ModelReply } from "../../src/model/types.js";
import { loadTask } from "../../src/task/task.js";
import { localEnvironment } from "../helpers/local-environment.js";
import { startScriptedModel, type ScriptedModel, type Turn } from "../helpers/scripted-model.js";
import { tempDir, writeTask } from "../helpers/task-fixture.js";

/**
 * The tmax agent as an adapter, without containers: an injected model client (through the registry) and a local
 * environment. What a trial sees: the trajectory files, agent_result, events, and errors rethrown after the files.
 */

const work = tempDir("tmax-agent-unit-");
after(() => {
  rmSync(work, { recursive: true, force: true });
  // The persistent shell keeps its state under /tmp/.tmax-shell-*; remove what these tests made.
  for (const d of shellDirs) rmSync(d, { recursive: true, force: true });
});
const shellDirs: string[] = [];
const servers: ScriptedModel[] = [];
after(async () => Promise.all(servers.map((s) => s.close())));

function scriptedClient(script: (string | Error)[]): ModelClient & { seen: ChatMessage[][] } {
  const seen: ChatMessage[][] = [];
  return {
    model: "injected",
    seen,
    complete(messages): Promise<ModelReply> {
      seen.push(messages.map((m) => ({ ...m })));
      const next = script[seen.length - 1] ?? `echo ${SUBMIT_MARKER}`;
      if (next instanceof Error) return Promise.reject(next);
      return Promise.resolve({
        message: { role: "assistant", content: `step ${seen.length}`, tool_calls: [{ id: `c${seen.length}`, type: "function", function: { name: "bash", arguments: JSON.stringify({ command: next }) } }] },
        finishReason: "tool_calls",
        usage: { promptTokens: 10, completionTokens: 2, reasoningTokens: 0, cachedTokens: 0, costUsd: 0.001 },
        latencySec: 0.01,
        attempts: 1,
      });
    },
  };
}

/** The agent on a local shell, with `script` as an injected client, or (`server`) on a real HTTP model server. */
async function setup(script: (string | Error)[], server?: { url: string; kwargs: Record<string, unknown> }) {
  const task = await loadTask(writeTask(work, `t${shellDirs.length}-${Math.random().toString(36).slice(2, 8)}`));
  const logsDir = tempDir("tmax-agent-logs-");
  const client = scriptedClient(script);
  const events: EpisodeEvent[] = [];
  const agent = server
    ? await createAgent("tmax", { modelName: "scripted-model", kwargs: { base_url: server.url, ...server.kwargs }, env: {} }, { onEvent: (e) => events.push(e) })
    : await createAgent("tmax", { modelName: "injected", kwargs: {}, env: {} }, { modelClient: client, onEvent: (e) => events.push(e) });
  const env = localEnvironment(work);
  const ctx: AgentRunContext = { task, logsDir, result: emptyAgentContext(), signal: new AbortController().signal, timeoutSec: null, log: () => undefined };
  await agent.setup(env, ctx);
  const stateDir = /mkdir -p (\S+)/.exec(env.commands[0]!)?.[1];
  if (stateDir) shellDirs.push(stateDir);
  const file = (name: string): unknown => JSON.parse(readFileSync(join(logsDir, name), "utf8"));
  return { agent, env, ctx, client, events, file, task };
}

describe("tmax agent (adapter) with an injected client and a local shell", () => {
  test("the registry builds it with the injected client: no server needed; the shell persists cwd and exports", async () => {
    const { agent, ctx, client, events, file, task } = await setup([`cd ${work} && export GREETING=hi`, 'echo "$GREETING from $(pwd)"']);
    await agent.run(task.instruction, localEnvironment(work), ctx);
    assert.equal(client.seen.length, 3, "three turns went to the injected client");
    const observations = client.seen[2]!.filter((m) => m.role === "tool").map((m) => m.content);
    assert.equal(observations[1], `hi from ${work}\n\n(exit_code=0)`);
    assert.deepEqual(
      (file("chat-messages.json") as ChatMessage[]).map((m) => m.role),
      ["system", "user", "assistant", "tool", "assistant", "tool", "assistant", "tool"],
    );
    assert.equal((file("usage.json") as { exit_status: string }).exit_status, "submitted");
    assert.equal((file("trajectory.json") as { schema_version: string }).schema_version, "ATIF-v1.4");
    assert.equal((file("timing.json") as unknown[]).length, 3);
    assert.equal(ctx.result.n_input_tokens, 30);
    assert.equal(ctx.result.n_output_tokens, 6);
    assert.ok(Math.abs(ctx.result.cost_usd! - 0.003) < 1e-12);
    assert.deepEqual(ctx.result.metadata, { exit_status: "submitted", steps: 3, format_errors: 0, reasoning_tokens: 0 });
    assert.equal(ctx.result.rollout_details, null);
    assert.deepEqual(events.map((e) => e.type), ["model", "observation", "model", "observation", "model", "observation", "done"]);
  });

  test("a model error is rethrown after the files are written, with the error in usage.json", async () => {
    const auth = new ModelError("authentication", "model server answered 401: bad key", 401);
    const { agent, ctx, file, task } = await setup(["true", auth]);
    await assert.rejects(agent.run(task.instruction, localEnvironment(work), ctx), (e) => e === auth);
    assert.equal((file("usage.json") as { exit_status: string }).exit_status, "error: AuthenticationError");
    assert.equal((file("chat-messages.json") as unknown[]).length, 4);
    assert.equal(ctx.result.metadata?.exit_status, "error: AuthenticationError");
  });

  /** The agent against a real scripted HTTP server with the given kwargs. */
  async function onServer(turns: Turn[], kwargs: Record<string, unknown>) {
    const server = await startScriptedModel(turns);
    servers.push(server);
    return { server, ...(await setup([], { url: server.url, kwargs: { retry_base_delay_sec: 0.01, ...kwargs } })) };
  }

  test("a hung model server: the run ends when the model-wait budget is spent, not after request_timeout_sec × attempts", async () => {
    const { agent, ctx, file, task, server } = await onServer([{ kind: "hang", ms: 60_000 }], { model_wait_budget_sec: 0.3 });
    assert.equal((agent as unknown as { settings: { request_timeout_sec: number } }).settings.request_timeout_sec, 18000);
    const started = performance.now();
    await assert.rejects(agent.run(task.instruction, localEnvironment(work), ctx), (e: Error) => {
      assert.equal(e.name, "ModelWaitBudgetExceededError");
      assert.match(e.message, /model-wait budget spent: waited 0\.3 s in all for the model server.*model_wait_budget_sec/);
      return true;
    });
    const sec = (performance.now() - started) / 1000;
    assert.ok(sec >= 0.28 && sec < 5, `the run took ${sec} s`);
    assert.equal(server.requests.length, 1, "no retry once the budget is spent");
    assert.equal((file("usage.json") as { exit_status: string }).exit_status, "error: ModelWaitBudgetExceededError");
    assert.equal(ctx.result.metadata?.exit_status, "error: ModelWaitBudgetExceededError");
  });

  test("the model-wait budget is one for the whole run: slow turns add up", async () => {
    // Each reply takes 0.4 s, well inside the request timeout; the second would end the budget of 0.7 s.
    const slow = (then: Turn): Turn => ({ kind: "hang", ms: 400, then });
    const { agent, ctx, file, task, server } = await onServer([slow({ kind: "call", command: "true" }), slow({ kind: "call", command: `echo ${SUBMIT_MARKER}` })], {
      model_wait_budget_sec: 0.7,
    });
    await assert.rejects(agent.run(task.instruction, localEnvironment(work), ctx), { name: "ModelWaitBudgetExceededError" });
    assert.equal(server.requests.length, 2);
    assert.deepEqual(
      (file("chat-messages.json") as ChatMessage[]).map((m) => m.role),
      ["system", "user", "assistant", "tool"],
      "the first turn ran; the second was cut",
    );
  });

  test("model_wait_budget_sec 0: no budget (a slow reply is waited for)", async () => {
    const { agent, ctx, task } = await onServer([{ kind: "hang", ms: 300, then: { kind: "call", command: `echo ${SUBMIT_MARKER}` } }], { model_wait_budget_sec: 0 });
    await agent.run(task.instruction, localEnvironment(work), ctx);
    assert.equal(ctx.result.metadata?.exit_status, "submitted");
  });

  test("without an injected client a server is required", async () => {
    const saved = process.env.OPENAI_BASE_URL;
    delete process.env.OPENAI_BASE_URL;
    try {
      await assert.rejects(createAgent("tmax", { modelName: "m", kwargs: {}, env: {} }), /no model server given/);
    } finally {
      if (saved !== undefined) process.env.OPENAI_BASE_URL = saved;
    }
  });
});

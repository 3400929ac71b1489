import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fillAgentResult, rolloutDetailOf } from "../../src/agent/tmax/agent-result.js";
import { ChatPolicy } from "../../src/agent/tmax/chat-policy.js";
import { TMAX_EVAL_RULES, episodeMessages, runEpisode, type Episode, type EpisodeEvent, type EpisodeSettings } from "../../src/agent/tmax/episode.js";
import { OBSERVATION_HALF } from "../../src/agent/tmax/observation.js";
import { SUBMIT_MARKER, SYSTEM_PROMPT, TRUNCATION_HINT, instanceMessage } from "../../src/agent/tmax/prompts.js";
import { atifOf, timingOf, usageOf } from "../../src/agent/tmax/trajectory-files.js";
import { emptyAgentContext } from "../../src/harbor/trial-schema.js";
import { ModelError } from "../../src/model/errors.js";
import type { ModelClient } from "../../src/model/types.js";
import { bash, memoryShell, scriptedPolicy, text, tokens, turn, type ShellAnswer } from "../helpers/episode-fakes.js";

const SUBMIT = `echo ${SUBMIT_MARKER}`;

async function episode(
  script: Parameters<typeof scriptedPolicy>[0],
  opts: { settings?: Partial<EpisodeSettings>; shell?: (c: string) => ShellAnswer; signal?: AbortSignal; fallback?: Parameters<typeof scriptedPolicy>[1] } = {},
) {
  const policy = scriptedPolicy(script, opts.fallback);
  const shell = memoryShell(opts.shell);
  const events: EpisodeEvent[] = [];
  const ep = await runEpisode({
    instruction: "  Do the thing.  ",
    policy,
    shell,
    settings: { ...TMAX_EVAL_RULES, ...opts.settings },
    signal: opts.signal ?? new AbortController().signal,
    onEvent: (e) => events.push(e),
  });
  return { ep, policy, shell, events, messages: episodeMessages(ep) };
}

const roles = (ep: Episode): string[] => episodeMessages(ep).map((m) => m.role);

describe("episode engine: the conversation", () => {
  test("starts with the system prompt and the instance message; each command's observation is a tool result", async () => {
    const { ep, policy, shell, messages } = await episode([bash("ls /app"), bash(SUBMIT)], { shell: (c) => (c === "ls /app" ? { stdout: "a\nb\n" } : { stdout: `${SUBMIT_MARKER}\n` }) });
    assert.deepEqual(messages.slice(0, 2), [
      { role: "system", content: SYSTEM_PROMPT },
      { role: "user", content: instanceMessage("Do the thing.") },
    ]);
    assert.deepEqual(roles(ep), ["system", "user", "assistant", "tool", "assistant", "tool"]);
    assert.equal(messages[3]!.content, "a\nb\n\n(exit_code=0)");
    assert.equal(messages[3]!.tool_call_id, messages[2]!.tool_calls![0]!.id);
    assert.deepEqual(shell.commands, ["ls /app", SUBMIT]);
    assert.equal(policy.requests[1]!.length, 4, "the policy sees the tool result of the previous turn");
    assert.equal(ep.ending, "submitted");
  });

  test("usage is summed over turns; every assistant entry keeps its turn", async () => {
    const { ep } = await episode([bash("a", { costUsd: 0.25 }), bash(SUBMIT, { costUsd: 0.5 })]);
    assert.deepEqual(ep.usage, { promptTokens: 200, completionTokens: 20, reasoningTokens: 4, cachedTokens: 80, costUsd: 0.75, turns: 2 });
    assert.equal(ep.entries.filter((e) => e.turn).length, 2);
    assert.ok(ep.entries.every((e) => /Z$/.test(e.at)));
  });
});

describe("episode engine: endings", () => {
  test("submitted: the marker anywhere in the command — the command still runs and its observation is appended", async () => {
    const { ep, shell, events } = await episode([bash(`cd /app && make && echo ${SUBMIT_MARKER}`)], { shell: () => ({ stdout: "" }) });
    assert.equal(ep.ending, "submitted");
    assert.equal(shell.commands.length, 1);
    assert.deepEqual(roles(ep).slice(-1), ["tool"]);
    assert.deepEqual(events.at(-1), { type: "done", status: "submitted", steps: 1 });
  });

  test("submitted: the marker anywhere in the output", async () => {
    const { ep } = await episode([bash("cat notes.txt")], { shell: () => ({ stdout: `some text ${SUBMIT_MARKER} more\n` }) });
    assert.equal(ep.ending, "submitted");
  });

  test("submitOn output: a command naming the marker whose output lacks it does not end the episode", async () => {
    const { ep, shell } = await episode([bash(`echo ${SUBMIT_MARKER} > /dev/null`), bash(SUBMIT)], {
      settings: { submitOn: "output" },
      shell: (c) => ({ stdout: c === SUBMIT ? `${SUBMIT_MARKER}\n` : "" }),
    });
    assert.equal(ep.ending, "submitted");
    assert.equal(shell.commands.length, 2);
  });

  test("max_steps: exactly maxSteps model calls, then the episode ends", async () => {
    const { ep, policy, events } = await episode((_, i) => bash(`echo ${i}`), { settings: { maxSteps: 5 } });
    assert.equal(ep.ending, "max_steps");
    assert.equal(policy.requests.length, 5);
    assert.equal(ep.steps.length, 5);
    assert.deepEqual(events.at(-1), { type: "done", status: "max_steps", steps: 5 });
  });

  test("context_window and token_budget: a policy's exhaustion ends the episode quietly, with its words", async () => {
    const cw = await episode([bash("a"), { kind: "exhausted", reason: "context_window", detail: "maximum context length is 32768" }]);
    assert.equal(cw.ep.ending, "context_window");
    assert.equal(cw.ep.detail, "maximum context length is 32768");
    assert.equal(cw.ep.error, null);
    assert.deepEqual(cw.events.at(-1), { type: "done", status: "context_window", steps: 1 });
    const tb = await episode([{ kind: "exhausted", reason: "token_budget", detail: "65536 response tokens used" }]);
    assert.equal(tb.ep.ending, "token_budget");
    assert.equal(tb.ep.steps.length, 0);
  });

  test("cost_limit: ends after the command of the turn that reached the limit", async () => {
    const { ep, shell } = await episode((_, i) => bash(`step ${i}`, { costUsd: 0.6 }), { settings: { costLimitUsd: 1 } });
    assert.equal(ep.ending, "cost_limit");
    assert.deepEqual(shell.commands, ["step 0", "step 1"]);
  });

  test("error: a model failure ends the episode with the error kept (no done event)", async () => {
    const auth = new ModelError("authentication", "model server answered 401: bad key", 401);
    const { ep, events } = await episode([bash("a"), auth]);
    assert.equal(ep.ending, "error");
    assert.equal(ep.error, auth);
    assert.match(ep.detail!, /401/);
    assert.equal(events.some((e) => e.type === "done"), false);
    assert.deepEqual(roles(ep), ["system", "user", "assistant", "tool"], "what happened before the error is kept");
  });

  test("interrupted: aborting during a command stops it and ends the episode with the abort reason", async () => {
    const ctl = new AbortController();
    const reason = new Error("stop now");
    setTimeout(() => ctl.abort(reason), 30);
    const { ep } = await episode([bash("sleep 100")], { signal: ctl.signal, shell: () => ({ hang: true }), settings: { commandTimeoutSec: 60 } });
    assert.equal(ep.ending, "interrupted");
    assert.equal(ep.error, reason);
  });
});

describe("episode engine: format errors", () => {
  test("recovery: the reply is kept without calls, feedback is a user message, it counts as a step, the streak resets", async () => {
    const bad = turn({ content: null, tool_calls: [{ id: "x", type: "function", function: { name: "python", arguments: "{}" } }] });
    const { ep, policy, events } = await episode([text("I am done."), bad, bash("ls"), text("again"), bash(SUBMIT)], { settings: { maxFormatErrors: 3 } });
    assert.equal(ep.ending, "submitted", "two errors, a valid call, one error: the limit of 3 in a row is never reached");
    const msgs = episodeMessages(ep);
    assert.deepEqual(msgs[2], { role: "assistant", content: "I am done." });
    assert.match(msgs[3]!.content!, /^Format error: .*no tool call/);
    assert.equal(msgs[3]!.role, "user");
    assert.deepEqual(msgs[4], { role: "assistant", content: "" }, "null content becomes a string, the bad call is removed");
    assert.match(msgs[5]!.content!, /only tool is "bash"/);
    assert.deepEqual(ep.steps.map((s) => s.kind), ["format_error", "format_error", "command", "format_error", "command"]);
    assert.equal(policy.requests.length, 5);
    assert.deepEqual(events.filter((e) => e.type === "format_error").map((e) => (e as { step: number }).step), [1, 2, 4]);
  });

  test("format_errors: the limit of consecutive errors ends the episode", async () => {
    const { ep, policy } = await episode(() => text("no call"), { settings: { maxFormatErrors: 3 } });
    assert.equal(ep.ending, "format_errors");
    assert.equal(policy.requests.length, 3);
  });

  test("format errors use up steps", async () => {
    const { ep } = await episode(() => text("no call"), { settings: { maxSteps: 4, maxFormatErrors: 64 } });
    assert.equal(ep.ending, "max_steps");
    assert.equal(ep.steps.length, 4);
  });

  test("without feedback (RL rule) a reply with no valid call ends the episode as no_tool_call", async () => {
    const { ep } = await episode([bash("ls"), text("thinking out loud")], { settings: { formatErrorFeedback: false } });
    assert.equal(ep.ending, "no_tool_call");
    assert.match(ep.detail!, /no tool call/);
    assert.deepEqual(roles(ep), ["system", "user", "assistant", "tool", "assistant"], "no feedback message");
  });
});

describe("episode engine: calls per turn", () => {
  const twoCalls = (a: string, b: string, extra: { name: string; arguments: string }[] = []) =>
    turn({
      content: "both",
      tool_calls: [
        { id: "c1", type: "function", function: { name: "bash", arguments: JSON.stringify({ command: a }) } },
        ...extra.map((x, i) => ({ id: `x${i}`, type: "function" as const, function: x })),
        { id: "c2", type: "function", function: { name: "bash", arguments: JSON.stringify({ command: b }) } },
      ],
    });

  test("first (eval rule): only the first call runs and only it stays in the history", async () => {
    const { ep, shell } = await episode([twoCalls("one", "two")]);
    assert.deepEqual(shell.commands.slice(0, 1), ["one"]);
    assert.equal(episodeMessages(ep)[2]!.tool_calls!.length, 1);
  });

  test("all (RL rule): every valid bash call runs in order, each a step; other tools are dropped", async () => {
    const { ep, shell } = await episode([twoCalls("one", "two", [{ name: "python", arguments: "{}" }]), bash(SUBMIT)], { settings: { callsPerTurn: "all" } });
    assert.deepEqual(shell.commands, ["one", "two", SUBMIT]);
    const msgs = episodeMessages(ep);
    assert.deepEqual(msgs[2]!.tool_calls!.map((c) => c.id), ["c1", "c2"]);
    assert.deepEqual([msgs[3]!.tool_call_id, msgs[4]!.tool_call_id], ["c1", "c2"]);
    assert.deepEqual(ep.steps.map((s) => [s.step, s.llmSec]), [[1, 0.5], [2, 0], [3, 0.5]], "the model time is charged to a turn's first step");
  });

  test("all: the step limit cuts a turn's calls", async () => {
    const { ep, shell } = await episode([twoCalls("one", "two")], { settings: { callsPerTurn: "all", maxSteps: 1 } });
    assert.deepEqual(shell.commands, ["one"]);
    assert.equal(ep.ending, "max_steps");
  });

  test("calls written as text (a token policy's output) are parsed and become native calls", async () => {
    const qwen = "<think>\nplan</think>\n\n<tool_call>\n<function=bash>\n<parameter=command>\nls -la\n</parameter>\n</function>\n</tool_call>";
    const { ep, shell } = await episode([turn({ content: qwen })]);
    assert.deepEqual(shell.commands.slice(0, 1), ["ls -la"]);
    const stored = episodeMessages(ep)[2]!;
    assert.equal(stored.content, "<think>\nplan</think>");
    assert.equal(stored.tool_calls![0]!.function.arguments, JSON.stringify({ command: "ls -la" }));
  });
});

describe("episode engine: observations", () => {
  test("long output is truncated to the head and tail, counting characters dropped upstream", async () => {
    const out = "h".repeat(OBSERVATION_HALF) + "x".repeat(3000) + "t".repeat(OBSERVATION_HALF);
    const { messages } = await episode([bash("cat big")], { shell: (c) => (c === "cat big" ? { stdout: out, dropped: 500 } : { stdout: SUBMIT_MARKER }) });
    const obs = messages[3]!.content!;
    assert.ok(obs.startsWith(`${TRUNCATION_HINT}\n\n---- HEAD (5000 chars) ----\n${"h".repeat(5000)}\n`));
    assert.ok(obs.includes(`---- ${3000 + 500} chars elided ----\n`));
    assert.ok(obs.endsWith(`---- TAIL (5000 chars) ----\n${"t".repeat(5000)}\n\n(exit_code=0)`));
  });

  test("a command that hits its timeout is reported as killed and the episode continues", async () => {
    const { ep, messages } = await episode([bash("sleep 600"), bash(SUBMIT)], {
      settings: { commandTimeoutSec: 0.05 },
      shell: (c) => (c === "sleep 600" ? { hang: true, partial: "partial\n" } : { stdout: SUBMIT_MARKER }),
    });
    assert.equal(messages[3]!.content, "partial\n\nCommand timed out after 0.05s and was killed.\n\n(exit_code=124)");
    assert.equal(ep.ending, "submitted");
    assert.deepEqual(ep.steps[0], { step: 1, kind: "command", command: "sleep 600", exitCode: 124, timedOut: true, llmSec: 0.5, bashSec: 0.05, observation: messages[3]!.content });
  });

  test("stderr follows stdout and the real exit code is shown", async () => {
    const { messages } = await episode([bash("false")], { shell: (c) => (c === "false" ? { stdout: "out\n", stderr: "err\n", exitCode: 3 } : { stdout: SUBMIT_MARKER }) });
    assert.equal(messages[3]!.content, "out\n\nerr\n\n(exit_code=3)");
  });
});

describe("episode records", () => {
  test("timing.json, usage.json and ATIF from an episode", async () => {
    const { ep } = await episode([text("no call"), bash("touch /app/x", {}, "Creating it."), bash(SUBMIT)]);
    assert.deepEqual(timingOf(ep), [
      { step: 1, llm_s: 0.5, format_error: true },
      { step: 2, llm_s: 0.5, bash_s: 0, return_code: 0, cmd: "touch /app/x" },
      { step: 3, llm_s: 0.5, bash_s: 0, return_code: 0, cmd: SUBMIT },
    ]);
    assert.deepEqual(usageOf(ep, 64), {
      prompt_tokens: 300,
      completion_tokens: 30,
      total_tokens: 330,
      reasoning_tokens: 6,
      cached_tokens: 120,
      cost_usd: null,
      max_steps: 64,
      exit_status: "submitted",
    });
    const atif = atifOf(ep, { name: "tmax", version: "1", model: "m" }) as { steps: { source: string; message: string; observation?: unknown }[] };
    assert.deepEqual(atif.steps.map((s) => s.source), ["system", "user", "agent", "user", "agent", "agent"]);
    assert.equal(atif.steps[4]!.message, "Creating it.");
    assert.ok(atif.steps[4]!.observation);
  });

  test("agent_result: token sums, metadata, and rollout_details aligned per turn", async () => {
    const { ep } = await episode([bash("a", { tokens: tokens([1, 2], [7, 8, 9]) }), bash(SUBMIT, { tokens: tokens([1, 2, 7, 8, 9, 3], [4], [-0.5]) })]);
    const result = emptyAgentContext();
    assert.deepEqual(fillAgentResult(result, ep, { rolloutDetails: true }), { missingTokenData: [] });
    assert.deepEqual(result.rollout_details, [
      { prompt_token_ids: [[1, 2], [1, 2, 7, 8, 9, 3]], completion_token_ids: [[7, 8, 9], [4]], logprobs: [[-0.1, -0.1, -0.1], [-0.5]] },
    ]);
    assert.equal(result.n_input_tokens, 200);
    assert.deepEqual(result.metadata, { exit_status: "submitted", steps: 2, format_errors: 0, reasoning_tokens: 4 });
    const off = emptyAgentContext();
    fillAgentResult(off, ep, { rolloutDetails: false });
    assert.equal(off.rollout_details, null, "only when asked");
  });

  test("rollout_details: a list some turn lacks is left out, never misaligned", async () => {
    const { ep } = await episode([bash("a", { tokens: tokens([1], [2], null) }), bash(SUBMIT, { tokens: null })]);
    assert.deepEqual(rolloutDetailOf(ep), { detail: null, missing: ["prompt_token_ids", "completion_token_ids", "logprobs"] });
    const partial = await episode([bash("a", { tokens: tokens([1], [2], null) }), bash(SUBMIT, { tokens: tokens([1, 2, 3], [4], null) })]);
    assert.deepEqual(rolloutDetailOf(partial.ep), { detail: { prompt_token_ids: [[1], [1, 2, 3]], completion_token_ids: [[2], [4]] }, missing: ["logprobs"] });
  });
});

describe("chat policy", () => {
  const client = (complete: ModelClient["complete"]): ModelClient => ({ model: "m", complete });
  const reply = { message: { role: "assistant" as const, content: "hi" }, finishReason: "stop", usage: { promptTokens: 1000, completionTokens: 500, reasoningTokens: 0, cachedTokens: 0, costUsd: null }, latencySec: 1, attempts: 1 };

  test("a context-window error ends the episode gracefully; other errors propagate", async () => {
    const cw = new ChatPolicy(client(() => Promise.reject(new ModelError("context_window", "too long", 400))), {});
    assert.deepEqual(await cw.next({ messages: [], tools: [] }, new AbortController().signal), { kind: "exhausted", reason: "context_window", detail: "too long" });
    const auth = new ChatPolicy(client(() => Promise.reject(new ModelError("authentication", "401", 401))), {});
    await assert.rejects(auth.next({ messages: [], tools: [] }, new AbortController().signal), /401/);
  });

  test("a wait budget: the call is abandoned when it runs out; an abort of the run still rejects with the run's reason", async () => {
    /** A client that answers only when its signal aborts (what the openai client does with a hung server). */
    const hung = client((_m, _t, _p, signal) => new Promise((_, reject) => signal!.addEventListener("abort", () => reject(signal!.reason as Error), { once: true })));
    const budgeted = new ChatPolicy(hung, {}, { waitBudgetSec: 0.05 });
    await assert.rejects(budgeted.next({ messages: [], tools: [] }, new AbortController().signal), { name: "ModelWaitBudgetExceededError" });
    await assert.rejects(budgeted.next({ messages: [], tools: [] }, new AbortController().signal), { name: "ModelWaitBudgetExceededError" }, "spent: no new call");
    const run = new AbortController();
    const pending = new ChatPolicy(hung, {}, { waitBudgetSec: 60 }).next({ messages: [], tools: [] }, run.signal);
    const reason = new Error("interrupted by the user");
    run.abort(reason);
    await assert.rejects(pending, (e) => e === reason);
  });

  test("prices turn token counts into cost when the server reports none; passes sampling parameters", async () => {
    let seen: unknown;
    const p = new ChatPolicy(
      client(async (_m, _t, params) => {
        seen = params;
        return reply;
      }),
      { temperature: 0.7, tokenDetails: true },
      { prices: { inputPerMtok: 2, outputPerMtok: 10 } },
    );
    const r = await p.next({ messages: [], tools: [] }, new AbortController().signal);
    assert.equal(r.kind === "turn" && r.turn.costUsd, (1000 * 2 + 500 * 10) / 1e6);
    assert.deepEqual(seen, { temperature: 0.7, tokenDetails: true });
  });
});

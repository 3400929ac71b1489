import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { runEpisode, TMAX_RL_RULES } from "../../src/agent/tmax/episode.js";
import { BASH_TOOL, SUBMIT_MARKER, SYSTEM_PROMPT, instanceMessage } from "../../src/agent/tmax/prompts.js";
import { loadHfTokenizer, type HfTokenizer } from "../../src/model/hf/hf-tokenizer.js";
import { writeQwen3TokenizerDir } from "../../src/model/hf/qwen3-model-dir.js";
import { CompletionsTokenClient } from "../../src/model/completions-client.js";
import { promptCodecFor, toolCallFormatOf } from "../../src/rl/prompt-codec.js";
import { TokenPolicy, type PromptCodec, type TokenBudgets } from "../../src/rl/token-policy.js";
import { memoryShell } from "../helpers/episode-fakes.js";
import { defaultLogprob, startScriptedTokenServer, type SampleTurn, type ScriptedTokenServer, type TokenTurn } from "../helpers/scripted-token-server.js";
import { tempDir } from "../helpers/task-fixture.js";

/**
 * The rollout's token bookkeeping through the real harness loop: the real Qwen3 tokenizer with tmax's Qwen3.5-style
 * template (qwen3_xml calls), a scripted token server answering with ids, and an in-memory shell.
 */

let tok: HfTokenizer;
let codec: PromptCodec;

before(async () => {
  tok = await loadHfTokenizer(await writeQwen3TokenizerDir(tempDir("tmax-qwen35-"), "qwen3.5-xml"));
  codec = promptCodecFor(tok);
});

const call = (command: string): string => `<tool_call>\n<function=bash>\n<parameter=command>\n${command}\n</parameter>\n</function>\n</tool_call>`;
/** A model turn as ids: reasoning closed, calls, then <|im_end|> (the forced `<think>\n` is prompt-side). */
const modelTurn = (reasoning: string, ...commands: string[]): SampleTurn => ({
  ids: tok.encode(`${reasoning}\n</think>\n\n${commands.map(call).join("\n")}<|im_end|>`, { addSpecialTokens: false }),
});

async function play(turns: TokenTurn[], opts: { budgets?: TokenBudgets; answer?: (c: string) => { stdout: string } } = {}) {
  const server: ScriptedTokenServer = await startScriptedTokenServer(turns, { decode: (ids) => tok.decode(ids, { skipSpecialTokens: false }) });
  try {
    const client = new CompletionsTokenClient({ baseUrl: server.url, model: "scripted-token-model", retry: { attempts: 1, baseDelaySec: 0, maxRetryAfterSec: 0 } });
    const policy = new TokenPolicy(client, codec, { temperature: 1, topP: 1, seed: 45, group: "g-1", policyVersion: 3 }, opts.budgets);
    const shell = memoryShell((c) => opts.answer?.(c) ?? { stdout: c.includes(SUBMIT_MARKER) ? `${SUBMIT_MARKER}\n` : `out of ${c}\n` });
    const episode = await runEpisode({ instruction: "Make /app/done.", policy, shell, settings: TMAX_RL_RULES, signal: new AbortController().signal });
    return { episode, stream: policy.finalStream(), requests: server.requests, sampled: turns.map((t) => ("ids" in t ? t.ids : [])) };
  } finally {
    await server.close();
  }
}

describe("token policy on the harness loop (real Qwen3 tokenizer, qwen3_xml)", () => {
  test("the template's call format is found by rendering one", () => {
    assert.equal(toolCallFormatOf(tok), "qwen3_xml");
  });

  test("a multi-turn episode: ids, mask and logprobs line up; model tokens mask 1 with their logprobs, appended tokens mask 0 with 0.0", async () => {
    const turns = [modelTurn("I look first", "ls /app"), modelTurn("Two at once", "touch /app/done", "cat /app/x"), modelTurn("Done", `echo ${SUBMIT_MARKER}`)];
    const { episode, stream, requests, sampled } = await play(turns);
    assert.equal(episode.ending, "submitted");
    assert.equal(episode.steps.length, 4, "every call of a turn ran");
    assert.equal(stream.responseIds.length, stream.lossMask.length);
    assert.equal(stream.responseIds.length, stream.logprobs.length);

    // The first prompt is the template on [system, user] with the bash tool and the generation prompt.
    const expectedPrompt = tok.promptIds(
      [
        { role: "system", content: SYSTEM_PROMPT },
        { role: "user", content: instanceMessage("Make /app/done.") },
      ],
      [BASH_TOOL],
      { addGenerationPrompt: true },
    );
    assert.deepEqual(stream.promptIds, expectedPrompt);
    assert.deepEqual(requests[0]!.body.prompt, expectedPrompt);

    // Each request's prompt extends the previous one by exactly the sampled ids and the appended observation ids.
    let at = 0;
    for (let k = 0; k < turns.length; k++) {
      const turn = stream.turns[k]!;
      assert.equal(turn.start, at);
      assert.deepEqual(stream.responseIds.slice(turn.start, turn.end), sampled[k], `turn ${k} holds what was sampled`);
      assert.deepEqual(stream.lossMask.slice(turn.start, turn.end), sampled[k]!.map(() => 1));
      assert.deepEqual(stream.logprobs.slice(turn.start, turn.end), sampled[k]!.map(defaultLogprob));
      const next = k + 1 < turns.length ? stream.turns[k + 1]!.start : stream.responseIds.length;
      const appended = stream.responseIds.slice(turn.end, next);
      assert.deepEqual(stream.lossMask.slice(turn.end, next), appended.map(() => 0));
      assert.deepEqual(stream.logprobs.slice(turn.end, next), appended.map(() => 0));
      if (k + 1 < turns.length) {
        assert.deepEqual(requests[k + 1]!.body.prompt, [...stream.promptIds, ...stream.responseIds.slice(0, next)], `request ${k + 1} = stream so far`);
        const text = tok.decode(appended, { skipSpecialTokens: false });
        assert.ok(text.startsWith("<|im_start|>user\n<tool_response>\n"), text);
        assert.ok(text.endsWith("<|im_end|>\n<|im_start|>assistant\n<think>\n"), "the forced <think>\\n is appended, mask 0");
      }
      at = next;
    }
    // The second turn ran two calls: both results, one assistant opener.
    const second = tok.decode(stream.responseIds.slice(stream.turns[1]!.end, stream.turns[2]!.start), { skipSpecialTokens: false });
    assert.equal(second.split("<tool_response>").length - 1, 2);
    assert.equal(second.split("<|im_start|>assistant").length - 1, 1);
    assert.match(second, /out of touch \/app\/done\n[\s\S]*out of cat \/app\/x/);
    // The last turn ends the stream: nothing is appended after the submitting turn.
    assert.equal(stream.turns.at(-1)!.end, stream.responseIds.length);

    // Every request: the sample's seed, the group and version's salt, logprobs of the sampled token, ids back.
    const salts = new Set(requests.map((r) => r.body.cache_salt));
    assert.equal(salts.size, 1);
    for (const r of requests) {
      assert.equal(r.body.seed, 45);
      assert.equal(r.body.temperature, 1);
      assert.equal(r.body.logprobs, 1);
      assert.equal(r.body.skip_special_tokens, false);
    }
    assert.equal(requests[0]!.body.max_tokens, 16_384, "the per-turn cap");
  });

  test("a turn without a bash call ends the episode at once (no format feedback in training)", async () => {
    const { episode, stream, requests } = await play([{ ids: tok.encode("No tools today.\n</think>\n\nBye.<|im_end|>", { addSpecialTokens: false }) }]);
    assert.equal(episode.ending, "no_tool_call");
    assert.equal(requests.length, 1);
    assert.deepEqual(stream.lossMask, stream.responseIds.map(() => 1));
  });

  test("budgets: max_tokens is what is left of the response and the context; an observation that does not fit is cut and ends the episode", async () => {
    const first = modelTurn("go", "cat big");
    const promptLength = (await play([first])).stream.promptIds.length;
    const budgets: TokenBudgets = { turn: 16_384, response: 65_536, context: promptLength + first.ids.length + 40 };
    const { episode, stream, requests } = await play([first, modelTurn("more", "ls")], { budgets, answer: () => ({ stdout: "word ".repeat(500) }) });
    assert.equal(requests[0]!.body.max_tokens, 40 + first.ids.length, "room left in the context");
    assert.equal(episode.ending, "context_window");
    assert.equal(requests.length, 1, "no request after the cut");
    assert.equal(stream.promptIds.length + stream.responseIds.length, budgets.context, "the observation was cut to the context exactly");
    assert.equal(stream.responseIds.length - first.ids.length, 40);

    const tight: TokenBudgets = { turn: 5, response: first.ids.length + 12, context: 67_584 };
    const cut = await play([first, modelTurn("more", "ls")], { budgets: tight, answer: () => ({ stdout: "word ".repeat(500) }) });
    assert.equal(cut.requests[0]!.body.max_tokens, 5, "the per-turn cap");
    // The scripted server cuts the sample to 5 ids ("length"), which holds no call: the episode ends there.
    assert.equal(cut.stream.turns[0]!.finishReason, "length");
  });

  test("a response that sampled nothing becomes one EOS with a NaN logprob", () => {
    const empty = new TokenPolicy({ model: "m", sample: () => Promise.reject(new Error("unused")) }, codec, { temperature: 1, topP: 1, seed: 42, group: "g", policyVersion: 0 });
    const s = empty.finalStream();
    assert.deepEqual(s.responseIds, [tok.eosTokenId]);
    assert.deepEqual(s.lossMask, [1]);
    assert.ok(Number.isNaN(s.logprobs[0]));
  });
});

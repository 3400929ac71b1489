import assert from "node:assert/strict";
import { test } from "node:test";
import { Hono } from "hono";
import { loadHfTokenizer, type HfTokenizer } from "../../src/model/hf/hf-tokenizer.js";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { checkBehaviourLogprobs, checkLossSettings, GuardError, modelVocabSize, probeServerTokenizer } from "../../src/rl/train/guards.js";
import { tempDir } from "../helpers/task-fixture.js";
import { serveOnLoopback } from "../helpers/loopback-server.js";
import { QWEN3_TOKENIZER_DIR } from "../helpers/tiny-model.js";

const VOCAB = 151936;

interface Faults {
  noTokenIds?: boolean;
  noLogprobs?: boolean;
  /** Tokenizes text prompts with one id dropped (another tokenizer). */
  otherTokenizer?: boolean;
  eosId?: number;
  /** Accepts any id (a larger vocabulary). */
  largerVocab?: boolean;
}

/** A stand-in of vLLM's /v1/completions: text prompts tokenized with the real Qwen3 tokenizer, ids refused past the
 *  tokenizer's last id as vLLM refuses them, greedy "sampling" of a fixed reply. */
async function standIn(tk: HfTokenizer, faults: Faults = {}) {
  const app = new Hono();
  const maxId = 151668;
  app.post("/v1/completions", async (c) => {
    const body = await c.req.json<{ prompt: string | number[]; return_token_ids?: boolean; logprobs?: number }>();
    let ids = typeof body.prompt === "string" ? tk.encode(body.prompt, { addSpecialTokens: true }) : body.prompt;
    if (typeof body.prompt === "string" && body.prompt === tk.eosToken && faults.eosId !== undefined) ids = [faults.eosId];
    if (typeof body.prompt === "string" && faults.otherTokenizer) ids = ids.slice(1);
    const bad = ids.find((id) => id > maxId);
    if (bad !== undefined && !faults.largerVocab) {
      return c.json({ error: { message: `Token id ${bad} is out of vocabulary`, type: "BadRequestError", param: null, code: 400 } }, 400);
    }
    const out = tk.encode(" ok", { addSpecialTokens: false });
    return c.json({
      id: "cmpl-1",
      object: "text_completion",
      choices: [
        {
          index: 0,
          text: tk.decode(out, { skipSpecialTokens: false }),
          finish_reason: "length",
          token_ids: faults.noTokenIds ? null : out,
          prompt_token_ids: faults.noTokenIds ? null : ids,
          logprobs: faults.noLogprobs ? null : { token_logprobs: out.map(() => -0.5), tokens: [], text_offset: [], top_logprobs: [] },
        },
      ],
    });
  });
  return serveOnLoopback(app);
}

test("the tokenizer probe passes for a server with the model dir's tokenizer and fails, saying why, for each mismatch", async () => {
  const tk = await loadHfTokenizer(QWEN3_TOKENIZER_DIR);
  const cases: [Faults, RegExp | null][] = [
    [{}, null],
    [{ noTokenIds: true }, /returned text but no token ids/],
    [{ noLogprobs: true }, /returned no logprobs/],
    [{ otherTokenizer: true }, /tokenizes .* as \[/],
    [{ eosId: 151643 }, /its EOS token <\|im_end\|> is \[151643\], the model dir's is 151645/],
    [{ largerVocab: true }, /accepts token id 151936, past the model dir's vocabulary/],
  ];
  for (const [faults, expected] of cases) {
    const server = await standIn(tk, faults);
    try {
      const probe = probeServerTokenizer({ baseUrl: server.url, model: "m", tokenizer: tk, vocabSize: VOCAB });
      if (expected === null) await probe;
      else await assert.rejects(probe, (err: Error) => err instanceof GuardError && expected.test(err.message), JSON.stringify(faults));
    } finally {
      await server.close();
    }
  }
});

test("DPPO needs δ > 0 and a behaviour logprob on every sampled token", () => {
  assert.throws(() => checkLossSettings({ loss: "dppo", delta: 0 }), /dppo needs a trust-region δ > 0/);
  assert.throws(() => checkLossSettings({ loss: "dppo-kl", delta: Number.NaN }), GuardError);
  checkLossSettings({ loss: "dppo", delta: 0.1 });
  checkLossSettings({ loss: "ppo-clip", delta: 0 });
  const mask = [1, 1, 0, 1];
  checkBehaviourLogprobs("dppo", [-0.1, -2, Number.NaN, -0.3], mask, "r");
  assert.throws(() => checkBehaviourLogprobs("dppo", [-0.1, Number.NaN, 0, -0.3], mask, "task-a#3"), /task-a#3: 1 sampled token\(s\) have no behaviour logprob/);
  checkBehaviourLogprobs("sft", [Number.NaN], [1], "r");
});

test("the model dir's vocabulary size comes from config.json (also a multimodal text_config)", async () => {
  const dir = tempDir("tmax-guards-");
  writeFileSync(join(dir, "config.json"), JSON.stringify({ text_config: { vocab_size: 248320 } }));
  assert.equal(await modelVocabSize(dir), 248320);
  writeFileSync(join(dir, "config.json"), JSON.stringify({ hidden_size: 8 }));
  await assert.rejects(modelVocabSize(dir), /has no vocab_size/);
});

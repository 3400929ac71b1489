import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { loadHfTokenizer } from "../../src/model/hf/hf-tokenizer.js";
import { byteLevelAlphabet, trimBpeTokenizer, writeTrimmedTokenizer } from "../../src/model/hf/trim-vocab.js";
import { tempDir } from "../helpers/task-fixture.js";
import { QWEN3_TOKENIZER_DIR } from "../helpers/tiny-model.js";

/** A byte-level BPE tokenizer trimmed to a corpus (model/hf/trim-vocab.ts), against the full Qwen3 tokenizer. */

const read = (name: string): never => JSON.parse(readFileSync(join(QWEN3_TOKENIZER_DIR, name), "utf8")) as never;

test("the corpus encodes to the same tokens (renumbered), special tokens keep their meaning, any text still encodes", async () => {
  const corpus = ["<|im_start|>user\nCopy the file /app/notes.txt to /app/backup.txt<|im_end|>", "mkdir /app/report && wc -l < /app/log.txt"];
  const out = tempDir("tmax-trim-");
  const vocab = await writeTrimmedTokenizer(QWEN3_TOKENIZER_DIR, out, corpus);
  const [full, small] = await Promise.all([loadHfTokenizer(QWEN3_TOKENIZER_DIR), loadHfTokenizer(out)]);
  assert.ok(vocab > 256 && vocab < 400, `${vocab}`);
  for (const text of corpus) {
    const ids = small.encode(text, { addSpecialTokens: false });
    assert.equal(ids.length, full.encode(text, { addSpecialTokens: false }).length, text);
    assert.equal(small.decode(ids, { skipSpecialTokens: false }), text);
  }
  assert.equal(small.eosTokenId, vocab + 2, "added tokens follow the vocabulary in their order (<|endoftext|>, <|im_start|>, <|im_end|>)");
  assert.equal(small.tokenId("<|im_start|>"), vocab + 1);
  // Text outside the corpus: more, shorter tokens, but the same text back.
  const other = "Entirely different words: Zürich, 🚀, 12345.";
  const ids = small.encode(other, { addSpecialTokens: false });
  assert.ok(ids.length > full.encode(other, { addSpecialTokens: false }).length);
  assert.equal(small.decode(ids, { skipSpecialTokens: false }), other);
  assert.ok(ids.every((id) => id < vocab));
});

test("the 256 byte tokens and the halves of every kept merge are kept; added_tokens_decoder is renumbered", () => {
  const tj = read("tokenizer.json") as { model: { vocab: Record<string, number> } };
  const used = tj.model.vocab["Ġbackup"]!;
  const trimmed = trimBpeTokenizer(read("tokenizer.json"), read("tokenizer_config.json"), [used]);
  const vocab = trimmed.tokenizerJson.model.vocab;
  for (const ch of byteLevelAlphabet()) assert.ok(ch in vocab, ch);
  assert.ok("Ġbackup" in vocab);
  for (const m of trimmed.tokenizerJson.model.merges) {
    const [a, b] = Array.isArray(m) ? m : (m.split(" ") as [string, string]);
    assert.ok(a in vocab && b in vocab && a + b in vocab);
  }
  assert.ok(trimmed.tokenizerJson.model.merges.some((m) => (Array.isArray(m) ? m.join("") : m.replace(" ", "")) === "Ġbackup"));
  const decoder = trimmed.tokenizerConfig.added_tokens_decoder as Record<string, { content: string }>;
  assert.equal(decoder[String(trimmed.vocabSize)]!.content, "<|endoftext|>");
  assert.equal(Object.keys(decoder).length, 26);
});

test("a tokenizer that is not byte-level BPE is refused", () => {
  const tj = read("tokenizer.json") as { model: Record<string, unknown> };
  assert.throws(() => trimBpeTokenizer({ ...tj, model: { ...tj.model, type: "WordPiece" } } as never, read("tokenizer_config.json"), []), /byte-level BPE/);
});

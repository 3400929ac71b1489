import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadHfTokenizer } from "./hf-tokenizer.js";

/**
 * A byte-level BPE tokenizer cut down to the tokens a corpus uses, so that a tiny model trained on that corpus
 * needs an embedding and an LM head of a few thousand rows instead of the full vocabulary's ~150k (the LM head is
 * nearly all of a tiny model's compute on a CPU).
 *
 * What is kept: the 256 byte tokens (so any text still encodes), every token the corpus produced, and, recursively,
 * the two halves of every merge that yields a kept token; the merges whose halves and result are all kept stay in
 * their order. The corpus then tokenizes exactly as before: the full tokenizer's every merge on it built a token of
 * the derivation of one of its final tokens, so that merge is kept, and among the merges that apply at a step the
 * one of lowest rank is the same in both. Other text may split into more, shorter tokens. Ids are renumbered:
 * vocabulary tokens in their old order from 0, then the added (special) tokens in theirs.
 */

interface TokenizerJson {
  model: { type: string; vocab: Record<string, number>; merges: (string | [string, string])[]; byte_fallback?: boolean };
  added_tokens: { id: number; content: string }[];
  post_processor?: { type: string } | null;
  pre_tokenizer?: unknown;
  [key: string]: unknown;
}

interface TokenizerConfigJson {
  added_tokens_decoder?: Record<string, unknown>;
  [key: string]: unknown;
}

/** GPT-2's byte-to-character table: the characters of the 256 byte tokens of a byte-level BPE vocabulary. */
export function byteLevelAlphabet(): string[] {
  const printable = (b: number): boolean => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  let next = 256;
  return Array.from({ length: 256 }, (_, b) => String.fromCodePoint(printable(b) ? b : next++));
}

const pairOf = (merge: string | [string, string]): [string, string] => {
  if (Array.isArray(merge)) return merge;
  const space = merge.indexOf(" ");
  return [merge.slice(0, space), merge.slice(space + 1)];
};

export interface TrimmedTokenizer {
  tokenizerJson: TokenizerJson;
  tokenizerConfig: TokenizerConfigJson;
  /** Vocabulary tokens kept (added tokens not counted). */
  vocabSize: number;
  /** The new id of every kept old id (vocabulary and added tokens). */
  idMap: Map<number, number>;
}

/** The tokenizer files trimmed to `usedIds` (ids of the full tokenizer); see the module comment. */
export function trimBpeTokenizer(tokenizerJson: TokenizerJson, tokenizerConfig: TokenizerConfigJson, usedIds: Iterable<number>): TrimmedTokenizer {
  const model = tokenizerJson.model;
  if (model.type !== "BPE" || model.byte_fallback) throw new Error(`only byte-level BPE tokenizers can be trimmed (model.type ${model.type})`);
  const post = tokenizerJson.post_processor;
  if (post && post.type !== "ByteLevel") throw new Error(`post_processor ${post.type} names token ids; only ByteLevel is supported`);
  const tokenOf = new Map(Object.entries(model.vocab).map(([token, id]) => [id, token]));
  const added = new Set(tokenizerJson.added_tokens.map((t) => t.id));
  const producers = new Map<string, [string, string][]>();
  for (const merge of model.merges) {
    const [a, b] = pairOf(merge);
    const list = producers.get(a + b) ?? [];
    list.push([a, b]);
    producers.set(a + b, list);
  }

  const keep = new Set<string>();
  const visit = (token: string): void => {
    const stack = [token];
    while (stack.length) {
      const t = stack.pop()!;
      if (keep.has(t)) continue;
      keep.add(t);
      for (const [a, b] of producers.get(t) ?? []) stack.push(a, b);
    }
  };
  for (const ch of byteLevelAlphabet()) {
    if (!(ch in model.vocab)) throw new Error(`the vocabulary lacks the byte token ${JSON.stringify(ch)}: not a byte-level BPE`);
    visit(ch);
  }
  for (const id of usedIds) {
    if (added.has(id)) continue;
    const token = tokenOf.get(id);
    if (token === undefined) throw new Error(`id ${id} is not a token of the vocabulary`);
    visit(token);
  }

  const kept = [...keep].sort((x, y) => model.vocab[x]! - model.vocab[y]!);
  const idMap = new Map<number, number>();
  const vocab: Record<string, number> = {};
  kept.forEach((token, id) => {
    vocab[token] = id;
    idMap.set(model.vocab[token]!, id);
  });
  const addedTokens = [...tokenizerJson.added_tokens].sort((x, y) => x.id - y.id).map((t, i) => {
    idMap.set(t.id, kept.length + i);
    return { ...t, id: kept.length + i };
  });
  const merges = model.merges.filter((m) => {
    const [a, b] = pairOf(m);
    return keep.has(a) && keep.has(b) && keep.has(a + b);
  });
  const decoder = tokenizerConfig.added_tokens_decoder;
  const addedDecoder =
    decoder &&
    Object.fromEntries(
      Object.entries(decoder).map(([id, entry]) => {
        const to = idMap.get(Number(id));
        if (to === undefined) throw new Error(`tokenizer_config.json: added token ${id} is not in tokenizer.json`);
        return [String(to), entry];
      }),
    );
  return {
    tokenizerJson: { ...tokenizerJson, added_tokens: addedTokens, model: { ...model, vocab, merges } },
    tokenizerConfig: addedDecoder ? { ...tokenizerConfig, added_tokens_decoder: addedDecoder } : tokenizerConfig,
    vocabSize: kept.length,
    idMap,
  };
}

/**
 * Writes `outDir`'s tokenizer.json and tokenizer_config.json: `sourceDir`'s trimmed to the tokens the texts of
 * `corpus` encode to (special tokens in them are read as such), then checks that every text encodes to the same
 * tokens as before (an error otherwise). Returns the trimmed vocabulary size.
 */
export async function writeTrimmedTokenizer(sourceDir: string, outDir: string, corpus: readonly string[]): Promise<number> {
  const read = async (name: string): Promise<unknown> => JSON.parse(await readFile(join(sourceDir, name), "utf8"));
  const full = await loadHfTokenizer(sourceDir);
  const encoded = corpus.map((text) => full.encode(text, { addSpecialTokens: false }));
  const trimmed = trimBpeTokenizer((await read("tokenizer.json")) as TokenizerJson, (await read("tokenizer_config.json")) as TokenizerConfigJson, encoded.flat());
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, "tokenizer.json"), JSON.stringify(trimmed.tokenizerJson, null, 2) + "\n");
  await writeFile(join(outDir, "tokenizer_config.json"), JSON.stringify(trimmed.tokenizerConfig, null, 2) + "\n");
  const small = await loadHfTokenizer(outDir);
  corpus.forEach((text, i) => {
    const expected = encoded[i]!.map((id) => trimmed.idMap.get(id));
    const got = small.encode(text, { addSpecialTokens: false });
    if (expected.length !== got.length || expected.some((id, k) => id !== got[k])) {
      throw new Error(`the trimmed tokenizer encodes ${JSON.stringify(text.slice(0, 80))}… differently`);
    }
  });
  return trimmed.vocabSize;
}

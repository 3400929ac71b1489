import { readFile } from "node:fs/promises";
import { z } from "zod";
import type { HfTokenizer } from "../../model/hf/hf-tokenizer.js";
import type { SftConversation } from "./sft-conversation.js";
import { sftTokens } from "./sft-tokens.js";

/**
 * SFT data as the learner trains on it: every line of one or more JSONL files (what `tmax export sft` writes, or any
 * file in either of its formats) as token ids with a loss mask.
 *
 * - `{"input_ids": [...], "loss_mask": [...]}` (the `tokens` format) is taken as it is;
 * - `{"messages": [...], "tools"?: [...]}` (the `messages` format, the OpenAI / Hugging Face chat format) is rendered
 *   with the model dir's chat template and split into trained and untrained tokens by sft-tokens.ts.
 *
 * A line that is neither, or that fails to render, is an SftDataError naming the file and line.
 */

export interface SftExample {
  inputIds: number[];
  lossMask: number[];
  /** `file:line`, for messages about it. */
  source: string;
}

export class SftDataError extends Error {
  override name = "SftDataError";
}

const tokenLine = z.object({
  input_ids: z.array(z.number().int().nonnegative()).min(2),
  loss_mask: z.array(z.union([z.literal(0), z.literal(1)])),
});

const messageLine = z.object({
  messages: z.array(z.record(z.string(), z.unknown())).min(2),
  tools: z.array(z.record(z.string(), z.unknown())).nullish(),
});

function example(value: unknown, source: string, tokenizer: HfTokenizer): SftExample {
  const tokens = tokenLine.safeParse(value);
  if (tokens.success) {
    const { input_ids: inputIds, loss_mask: lossMask } = tokens.data;
    if (lossMask.length !== inputIds.length) throw new SftDataError(`${source}: ${inputIds.length} input_ids but ${lossMask.length} loss_mask values`);
    return { inputIds, lossMask, source };
  }
  const chat = messageLine.safeParse(value);
  if (!chat.success) throw new SftDataError(`${source}: neither {input_ids, loss_mask} (with at least 2 tokens) nor {messages, tools?}`);
  try {
    const { inputIds, lossMask } = sftTokens(
      { messages: chat.data.messages, tools: chat.data.tools ?? null } as unknown as SftConversation,
      tokenizer,
    );
    return { inputIds, lossMask, source };
  } catch (err) {
    throw new SftDataError(`${source}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Every non-empty line of the files, in order. A file without a single example is an error too. */
export async function readSftExamples(files: readonly string[], tokenizer: HfTokenizer): Promise<SftExample[]> {
  const examples: SftExample[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (err) {
      throw new SftDataError(`${file}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : String(err)}`);
    }
    const before = examples.length;
    text.split("\n").forEach((line, i) => {
      if (!line.trim()) return;
      const source = `${file}:${i + 1}`;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        throw new SftDataError(`${source}: not JSON`);
      }
      examples.push(example(value, source, tokenizer));
    });
    if (examples.length === before) throw new SftDataError(`${file}: no examples`);
  }
  return examples;
}

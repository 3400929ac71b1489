import { withDecodedToolArguments } from "../../model/hf/chat-template.js";
import type { HfTokenizer } from "../../model/hf/hf-tokenizer.js";
import type { SftConversation } from "./sft-conversation.js";

/**
 * A conversation as token ids with a loss mask: 1 on what the model wrote (its assistant turns), 0 on everything
 * else (system and user messages, tool results, role headers, the template's glue).
 *
 * The method: the whole conversation is rendered with the model dir's chat template; that text is what is trained
 * on. For each assistant message i, the template is rendered again for the messages before it with the generation
 * prompt: the text the model was given, ending with the assistant header (e.g. `<|im_start|>assistant\n`). It must
 * be a prefix of the whole rendering; the assistant's span runs from its end to the first end-of-turn token after it
 * (the tokenizer's EOS, which the model samples; the newline templates put after it is glue). So a template that
 * renders a turn differently once it is no longer the last (Qwen3 writes an empty `<think>\n\n</think>\n\n` only
 * into the last assistant turn) trains on the whole rendering's form of every turn. The text is then cut at the span
 * boundaries and each piece tokenized on its own (no special tokens added), so every token belongs to exactly one
 * piece: mask-1 tokens decode to exactly the assistant turns. The ids are those of the pieces, which equal the
 * tokenization of the whole text whenever a boundary is a special token (as with ChatML templates), and otherwise
 * may differ from it only at a boundary, like a token stream built turn by turn at sampling time.
 *
 * Tool-call arguments are given to the template as objects (as vLLM does). A template that rewrites the prompt of an
 * earlier turn when a later one is added (e.g. one that drops the reasoning of turns before the last user message)
 * has no such prefixes: the conversation cannot be split and TemplatePrefixError names the message.
 */

export interface SftTokens {
  inputIds: number[];
  lossMask: number[];
}

export class TemplatePrefixError extends Error {
  override name = "TemplatePrefixError";
}

export function sftTokens(conversation: SftConversation, tokenizer: HfTokenizer): SftTokens {
  const messages = withDecodedToolArguments(conversation.messages);
  const tools = conversation.tools;
  const whole = tokenizer.renderPrompt(messages, tools, { addGenerationPrompt: false });
  /** Pieces of `whole`: [end offset, mask] in order. */
  const cuts: [number, 0 | 1][] = [];
  let cursor = 0;
  messages.forEach((m, i) => {
    if (m.role !== "assistant") return;
    if (i === 0) throw new TemplatePrefixError("message 0 is an assistant message: the model was given no prompt");
    const given = tokenizer.renderPrompt(messages.slice(0, i), tools, { addGenerationPrompt: true });
    if (!whole.startsWith(given) || given.length < cursor) {
      throw new TemplatePrefixError(
        `the chat template does not render the prompt of message ${i} (assistant) as a prefix of the whole conversation, so its tokens cannot be told apart`,
      );
    }
    const eos = whole.indexOf(tokenizer.eosToken, given.length);
    if (eos < 0) throw new TemplatePrefixError(`message ${i} (assistant) has no end-of-turn token (${tokenizer.eosToken}) in the rendering`);
    const end = eos + tokenizer.eosToken.length;
    cuts.push([given.length, 0], [end, 1]);
    cursor = end;
  });
  cuts.push([whole.length, 0]);

  const inputIds: number[] = [];
  const lossMask: number[] = [];
  let from = 0;
  for (const [to, mask] of cuts) {
    if (to > from) {
      const ids = tokenizer.encode(whole.slice(from, to), { addSpecialTokens: false });
      inputIds.push(...ids);
      for (let k = 0; k < ids.length; k++) lossMask.push(mask);
    }
    from = Math.max(from, to);
  }
  return { inputIds, lossMask };
}

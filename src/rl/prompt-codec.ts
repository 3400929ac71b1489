import type { HfTokenizer } from "../model/hf/hf-tokenizer.js";
import { wrapObservations, type ToolCallFormat } from "../model/hf/observation-wrap.js";
import type { PromptCodec } from "./token-policy.js";

/**
 * How a model's chat template writes tool calls, found by rendering one: `<function=bash>` is qwen3_xml (Qwen3.5 and
 * later), anything else is treated as Hermes JSON (Qwen3 and most others).
 */
export function toolCallFormatOf(tokenizer: HfTokenizer): ToolCallFormat {
  const text = tokenizer.renderPrompt(
    [
      { role: "user", content: "probe" },
      { role: "assistant", content: "", tool_calls: [{ id: "c0", type: "function", function: { name: "bash", arguments: { command: "true" } } }] },
    ],
    null,
    { addGenerationPrompt: false },
  );
  return text.includes("<function=bash>") ? "qwen3_xml" : "hermes";
}

/** The token policy's view of a Hugging Face model dir: its template, tokenizer and the family's observation turns. */
export function promptCodecFor(tokenizer: HfTokenizer, format: ToolCallFormat = toolCallFormatOf(tokenizer)): PromptCodec {
  return {
    promptIds: (messages, tools) => tokenizer.promptIds(messages, tools, { addGenerationPrompt: true }),
    encode: (text) => tokenizer.encode(text, { addSpecialTokens: false }),
    decode: (ids) => tokenizer.decode(ids, { skipSpecialTokens: false }),
    wrapObservations: (observations) => wrapObservations(format, observations),
    eosTokenId: tokenizer.eosTokenId,
  };
}

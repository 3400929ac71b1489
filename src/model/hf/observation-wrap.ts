/**
 * Observations as text appended to an RL token stream (rl.md §5): each tool result becomes a turn of its own, and the
 * text then opens the assistant's next turn, so the model continues right after it. The stream is tokenized
 * without special-token insertion; no "\n" follows the model's own `<|im_end|>` (a re-render with the chat template
 * would put one there).
 */

/** How a model family writes tool calls, which decides how its tool results are wrapped. */
export type ToolCallFormat = "qwen3_xml" | "hermes";

/**
 * One tool result as a turn. qwen3_xml (Qwen3.5/3.6) gives it as a user turn; Hermes (Qwen3) in the tool role.
 * The text sits in `<tool_response>` tags on lines of its own.
 */
function toolResponseTurn(format: ToolCallFormat, observation: string): string {
  const role = format === "qwen3_xml" ? "user" : "tool";
  return `<|im_start|>${role}\n<tool_response>\n${observation}\n</tool_response>\n<|im_end|>\n`;
}

/** The header of the assistant's next turn. Qwen3.5 thinks first: its opening `<think>\n` is forced (prompt-side). */
function assistantTurnOpener(format: ToolCallFormat): string {
  return format === "qwen3_xml" ? "<|im_start|>assistant\n<think>\n" : "<|im_start|>assistant\n";
}

/** rl.md §5's wrapping of one observation: its turn, then the opening of the next assistant turn. */
export function wrapObservation(format: ToolCallFormat, observation: string): string {
  return toolResponseTurn(format, observation) + assistantTurnOpener(format);
}

/**
 * Several observations of one model turn (one per executed call): their turns in order, then a single opening of
 * the next assistant turn. (Wrapping each with wrapObservation would open an assistant turn between them, as the
 * original recipe did, leaving empty assistant headers in the stream.)
 */
export function wrapObservations(format: ToolCallFormat, observations: readonly string[]): string {
  if (observations.length === 0) throw new Error("wrapObservations needs at least one observation");
  return observations.map((o) => toolResponseTurn(format, o)).join("") + assistantTurnOpener(format);
}

import { BASH_TOOL, instanceMessage, SYSTEM_PROMPT } from "../../agent/tmax/prompts.js";
import type { Task } from "../../task/task.js";
import type { PromptCodec } from "../token-policy.js";

/** The tasks whose first prompt ([system, user] with the bash tool, as the rollout renders it) fits in
 *  `maxPromptTokens`; the recipe filters longer prompts out of the dataset (rl.md §1). */
export function tasksWithinPromptLimit(tasks: readonly Task[], codec: PromptCodec, maxPromptTokens: number): { kept: Task[]; tooLong: { task: Task; tokens: number }[] } {
  const kept: Task[] = [];
  const tooLong: { task: Task; tokens: number }[] = [];
  for (const task of tasks) {
    const tokens = codec.promptIds(
      [
        { role: "system", content: SYSTEM_PROMPT },
        { role: "user", content: instanceMessage(task.instruction) },
      ],
      [BASH_TOOL],
    ).length;
    if (tokens <= maxPromptTokens) kept.push(task);
    else tooLong.push({ task, tokens });
  }
  return { kept, tooLong };
}

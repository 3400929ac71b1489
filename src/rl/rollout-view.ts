import pc from "picocolors";
import type { Rollout } from "./rollout.js";

/**
 * A rollout as text with what the learner trains on marked: spans the model sampled (loss mask 1) in green and
 * between ⟦ ⟧, everything tmax appended (observations, role headers, the forced `<think>\n`) dimmed. Spans are cut
 * where the mask changes, so every token is shown exactly once.
 */
export function showRollout(rollout: Rollout, decode: (ids: readonly number[]) => string): string {
  const lines: string[] = [];
  const reward = rollout.reward === null ? "none (infrastructure failure)" : String(rollout.reward);
  lines.push(pc.bold(`${rollout.taskName} · sample ${rollout.sampleIndex} · seed ${rollout.seed} · ${rollout.ending} · reward ${reward}`));
  if (rollout.error) lines.push(pc.red(rollout.error));
  const trained = rollout.lossMask.reduce((n, m) => n + (m ? 1 : 0), 0);
  lines.push(
    pc.dim(
      `prompt ${rollout.promptIds.length} tokens · response ${rollout.responseIds.length} tokens, ${trained} trained (mask 1) · ` +
        `${rollout.turns.length} turn(s): ${rollout.turns.map((t) => t.finishReason).join(", ")}`,
    ),
  );
  lines.push(pc.dim("── prompt (mask 0) ──"), pc.dim(decode(Array.from(rollout.promptIds))), pc.dim("── response ──"));
  let out = "";
  let start = 0;
  const ids = Array.from(rollout.responseIds);
  for (let i = 1; i <= ids.length; i++) {
    if (i < ids.length && rollout.lossMask[i] === rollout.lossMask[start]) continue;
    const text = decode(ids.slice(start, i));
    out += rollout.lossMask[start] ? pc.green(`⟦${text}⟧`) : pc.dim(text);
    start = i;
  }
  lines.push(out);
  return lines.join("\n");
}

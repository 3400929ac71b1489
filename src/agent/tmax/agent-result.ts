import type { AgentContext, RolloutDetail } from "../../harbor/trial-schema.js";
import type { Episode } from "./episode.js";
import { exitStatusOf } from "./trajectory-files.js";

/**
 * Harbor's RolloutDetail of an episode (one linear history): per model turn, the prompt ids, the completion ids and
 * their logprobs. A list is included only when EVERY turn has it, so index i always means turn i; `missing` names the
 * lists left out because some turn lacked them (the server did not report them). Null when there is no turn.
 */
export function rolloutDetailOf(episode: Episode): { detail: RolloutDetail | null; missing: string[] } {
  const turns = episode.entries.flatMap((e) => (e.turn ? [e.turn.tokens] : []));
  if (turns.length === 0) return { detail: null, missing: [] };
  const detail: RolloutDetail = {};
  const missing: string[] = [];
  const lists = [
    ["prompt_token_ids", (t: NonNullable<(typeof turns)[number]>) => t.promptTokenIds],
    ["completion_token_ids", (t: NonNullable<(typeof turns)[number]>) => t.completionTokenIds],
    ["logprobs", (t: NonNullable<(typeof turns)[number]>) => t.logprobs],
  ] as const;
  for (const [key, pick] of lists) {
    const values = turns.map((t) => (t ? pick(t) : null));
    if (values.every((v): v is number[] => v !== null)) detail[key] = values;
    else missing.push(key);
  }
  return { detail: Object.keys(detail).length > 0 ? detail : null, missing };
}

/**
 * Fills Harbor's agent_result from an episode: token sums (n_input_tokens = summed prompt tokens, cached included),
 * cost, metadata (exit status, steps, format errors, reasoning tokens) and, when asked, rollout_details.
 */
export function fillAgentResult(result: AgentContext, episode: Episode, opts: { rolloutDetails: boolean }): { missingTokenData: string[] } {
  const u = episode.usage;
  result.n_input_tokens = u.promptTokens;
  result.n_cache_tokens = u.cachedTokens;
  result.n_output_tokens = u.completionTokens;
  result.cost_usd = u.costUsd;
  result.metadata = {
    ...(result.metadata ?? {}),
    exit_status: exitStatusOf(episode),
    steps: episode.steps.length,
    format_errors: episode.steps.filter((s) => s.kind === "format_error").length,
    reasoning_tokens: u.reasoningTokens,
  };
  if (!opts.rolloutDetails) return { missingTokenData: [] };
  const { detail, missing } = rolloutDetailOf(episode);
  result.rollout_details = detail ? [detail] : null;
  return { missingTokenData: missing };
}

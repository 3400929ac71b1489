/** One trial reduced to what statistics need; built from tmax's or Harbor's result.json. */
export interface TrialRecord {
  trialName: string;
  taskName: string;
  /** verifier_result.rewards; null when the trial produced no reward (counts as 0). */
  rewards: Record<string, number> | null;
  exceptionType: string | null;
  /** Milliseconds since the epoch; NaN when unknown. */
  startedAt: number;
  finished: boolean;
  agentName: string;
  modelName: string | null;
  source: string | null;
  nInputTokens: number | null;
  nCacheTokens: number | null;
  nOutputTokens: number | null;
  costUsd: number | null;
}

/** Harbor's eval key: `<agent>__<model without provider>__<dataset>` (model omitted when there is none). */
export function evalKey(r: Pick<TrialRecord, "agentName" | "modelName" | "source">): string {
  const model = r.modelName ? r.modelName.split("/").pop()! : null;
  return [r.agentName, model, r.source ?? "adhoc"].filter((p): p is string => !!p).join("__");
}

import { keepsRewardValid } from "../harbor/error-policy.js";
import type { TrialSummary } from "../harbor/lenient.js";
import { parseTimestamp } from "../util/time.js";

/** One trial reduced to what statistics need; built from tmax's or Harbor's result.json. */
export interface TrialRecord {
  trialName: string;
  taskName: string;
  /** verifier_result.rewards; null when the trial produced no reward (counts as 0). */
  rewards: Record<string, number> | null;
  /**
   * Harbor ≥ 0.26's `reward_valid`: a reward, and no exception (the trial's or a step's) whose error policy voids it
   * (harbor/error-policy.ts). Read from result.json when Harbor wrote it there.
   */
  rewardValid: boolean;
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

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const finiteOrNull = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

/** A sum over values that may be unknown: null when all are. */
function sumKnown(values: (number | null)[]): number | null {
  const known = values.filter((v): v is number => v !== null);
  return known.length === 0 ? null : known.reduce((a, b) => a + b, 0);
}

/** An exception_info's own say on its reward (Harbor ≥ 0.26 records `policy`, and `policy_override` when a job set one). */
function exceptionKeepsReward(e: Obj): boolean {
  for (const block of [e.policy, e.policy_override]) {
    if (isObj(block) && typeof block.has_valid_reward === "boolean") return block.has_valid_reward;
  }
  return typeof e.exception_type === "string" ? keepsRewardValid(e.exception_type) : true;
}

/**
 * Harbor ≥ 0.26's `reward_valid` of a trial result.json: the recorded value when it is there, else a non-empty
 * reward and every recorded exception (the trial's, then each step's) keeping it valid. Values of other types than
 * Harbor's are ignored, so the fast path and the schema path agree.
 */
function harborRewardValid(doc: { reward_valid?: unknown; exception_info?: unknown; step_results?: unknown }, rewards: Record<string, number> | null): boolean {
  if (typeof doc.reward_valid === "boolean") return doc.reward_valid;
  if (!rewards || Object.keys(rewards).length === 0) return false;
  if (isObj(doc.exception_info) && !exceptionKeepsReward(doc.exception_info)) return false;
  if (!Array.isArray(doc.step_results)) return true;
  return doc.step_results.every((st) => !isObj(st) || !isObj(st.exception_info) || exceptionKeepsReward(st.exception_info));
}

/**
 * What a multi-step trial records on its steps instead of the trial (Harbor's `step_results`): the first step's
 * exception type (Harbor counts a trial with a failed step as errored) and the token counts and cost summed over
 * the steps. Null for a single-step trial.
 */
function stepFacts(stepResults: unknown): { exceptionType: string | null; tokens: [number | null, number | null, number | null, number | null] } | null {
  if (!Array.isArray(stepResults)) return null;
  const steps = stepResults.filter(isObj);
  const failed = steps.map((st) => st.exception_info).find(isObj);
  const contexts = steps.map((st) => st.agent_result).filter(isObj);
  const sum = (key: string): number | null => sumKnown(contexts.map((c) => finiteOrNull(c[key])));
  return {
    exceptionType: failed ? (typeof failed.exception_type === "string" ? failed.exception_type : "UnknownError") : null,
    tokens: [sum("n_input_tokens"), sum("n_cache_tokens"), sum("n_output_tokens"), sum("cost_usd")],
  };
}

/**
 * Reduces a trial's result.json summary (harbor/lenient.ts; tmax's own TrialResult fits it too) to a
 * TrialRecord. `fallbackName` (the trial directory's name) stands in for a missing trial_name; a missing task_name
 * is the trial name without its `__<id>` suffix. Rewards that are not numbers are dropped.
 */
export function trialRecordFromSummary(t: TrialSummary, fallbackName: string): TrialRecord {
  const rewardsRaw = t.verifier_result?.rewards ?? null;
  let rewards: Record<string, number> | null = null;
  if (rewardsRaw) {
    rewards = {};
    for (const k in rewardsRaw) {
      const v = rewardsRaw[k];
      if (typeof v !== "number") continue;
      if (k === "__proto__") Object.defineProperty(rewards, k, { value: v, enumerable: true, writable: true, configurable: true });
      else rewards[k] = v;
    }
  }
  const trialName = t.trial_name ?? fallbackName;
  const modelName = t.agent_info?.model_info?.name ?? t.config?.agent?.model_name ?? null;
  const steps = stepFacts(t.step_results);
  const stepTokens = t.agent_result ? null : steps?.tokens;
  return {
    trialName,
    taskName: t.task_name ?? trialName.replace(/__[^_]+$/, ""),
    rewards,
    rewardValid: harborRewardValid(t, rewards),
    exceptionType: t.exception_info ? (t.exception_info.exception_type ?? "UnknownError") : (steps?.exceptionType ?? null),
    startedAt: parseTimestamp(t.started_at),
    finished: !!t.finished_at,
    agentName: t.agent_info?.name ?? t.config?.agent?.name ?? "unknown",
    modelName,
    source: t.source ?? null,
    nInputTokens: stepTokens ? stepTokens[0] : (t.agent_result?.n_input_tokens ?? null),
    nCacheTokens: stepTokens ? stepTokens[1] : (t.agent_result?.n_cache_tokens ?? null),
    nOutputTokens: stepTokens ? stepTokens[2] : (t.agent_result?.n_output_tokens ?? null),
    costUsd: stepTokens ? stepTokens[3] : (t.agent_result?.cost_usd ?? null),
  };
}

const isOptString = (v: unknown): v is string | undefined => v === undefined || typeof v === "string";
const isNullableString = (v: unknown): v is string | null | undefined => v == null || typeof v === "string";
const isNullableNumber = (v: unknown): v is number | null | undefined => v == null || (typeof v === "number" && Number.isFinite(v));

/**
 * The fast path of `trialRecordFromSummary(trialSummarySchema.parse(data), fallbackName)` for a well-formed trial
 * result.json: the same record, without zod and without the intermediate summary. Null when anything is unusual
 * (a field of an unexpected type, a non-finite number, a `__proto__` reward): then the schema decides
 * (job/trial-records.ts). Tests check the two agree on every kind of document.
 */
export function fastTrialRecord(data: unknown, fallbackName: string): TrialRecord | null {
  if (!isObj(data)) return null;
  const { trial_name, task_name, source, started_at, finished_at } = data;
  if (!isOptString(trial_name) || !isOptString(task_name)) return null;
  if (!isNullableString(source) || !isNullableString(started_at) || !isNullableString(finished_at)) return null;

  let rewards: Record<string, number> | null = null;
  const vr = data.verifier_result;
  if (vr != null) {
    if (!isObj(vr)) return null;
    const raw = vr.rewards;
    if (raw != null) {
      if (!isObj(raw)) return null;
      rewards = {};
      for (const k in raw) {
        const v = raw[k];
        if (k === "__proto__") return null;
        if (v === null) continue;
        if (typeof v !== "number" || !Number.isFinite(v)) return null;
        rewards[k] = v;
      }
    }
  }

  let exceptionType: string | null = null;
  const ei = data.exception_info;
  if (ei != null) {
    if (!isObj(ei) || !isOptString(ei.exception_type)) return null;
    exceptionType = ei.exception_type ?? "UnknownError";
  }

  let agentName: string | undefined;
  let modelName: string | undefined;
  const ai = data.agent_info;
  if (ai != null) {
    if (!isObj(ai) || !isOptString(ai.name)) return null;
    agentName = ai.name;
    const mi = ai.model_info;
    if (mi != null) {
      if (!isObj(mi) || !isOptString(mi.name) || !isNullableString(mi.provider)) return null;
      modelName = mi.name;
    }
  }

  let nInput: number | null | undefined;
  let nCache: number | null | undefined;
  let nOutput: number | null | undefined;
  let cost: number | null | undefined;
  const ar = data.agent_result;
  if (ar != null) {
    if (!isObj(ar)) return null;
    nInput = ar.n_input_tokens as number | null | undefined;
    nCache = ar.n_cache_tokens as number | null | undefined;
    nOutput = ar.n_output_tokens as number | null | undefined;
    cost = ar.cost_usd as number | null | undefined;
    if (!isNullableNumber(nInput) || !isNullableNumber(nCache) || !isNullableNumber(nOutput) || !isNullableNumber(cost)) return null;
  }

  let configAgent: string | null | undefined;
  let configModel: string | null | undefined;
  const cfg = data.config;
  if (cfg != null) {
    if (!isObj(cfg)) return null;
    const agent = cfg.agent;
    if (agent !== undefined) {
      if (!isObj(agent) || !isNullableString(agent.name) || !isNullableString(agent.model_name)) return null;
      configAgent = agent.name;
      configModel = agent.model_name;
    }
  }

  const trialName = trial_name ?? fallbackName;
  const steps = stepFacts(data.step_results);
  if (steps && ar == null) [nInput, nCache, nOutput, cost] = steps.tokens;
  return {
    trialName,
    taskName: task_name ?? trialName.replace(/__[^_]+$/, ""),
    rewards,
    rewardValid: harborRewardValid(data, rewards),
    exceptionType: exceptionType ?? steps?.exceptionType ?? null,
    startedAt: parseTimestamp(started_at),
    finished: !!finished_at,
    agentName: agentName ?? configAgent ?? "unknown",
    modelName: modelName ?? configModel ?? null,
    source: source ?? null,
    nInputTokens: nInput ?? null,
    nCacheTokens: nCache ?? null,
    nOutputTokens: nOutput ?? null,
    costUsd: cost ?? null,
  };
}

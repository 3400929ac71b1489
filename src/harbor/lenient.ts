import { z } from "zod";

/**
 * Readers' schemas of Harbor's documents as any Harbor version (or tmax) writes them (harbor-format.md §7,
 * "Version drift"): unknown keys are kept, optional keys may be missing, nullable ones may be null. A present field
 * of the wrong type is an error naming the field. tmax's writers use the exact shapes in trial-schema.ts and
 * job/schema.ts instead.
 */

const str = z.string().nullable().optional();
const num = z.number().nullable().optional();
const bool = z.boolean().nullable().optional();
const record = z.record(z.string(), z.unknown()).nullable().optional();
const stringMap = z.record(z.string(), z.string()).nullable().optional();

export const lenientTimingSchema = z.looseObject({ started_at: str, finished_at: str });

export const lenientExceptionInfoSchema = z.looseObject({
  exception_type: z.string().optional(),
  exception_message: str,
  exception_traceback: str,
  occurred_at: str,
});

export const lenientTaskRefSchema = z.looseObject({
  path: str,
  git_url: str,
  git_commit_id: str,
  name: str,
  ref: str,
  overwrite: bool,
  download_dir: str,
  source: str,
});

export const lenientAgentConfigSchema = z.looseObject({
  name: str,
  import_path: str,
  model_name: str,
  override_timeout_sec: num,
  override_setup_timeout_sec: num,
  max_timeout_sec: num,
  kwargs: record,
  env: stringMap,
});

export const lenientEnvironmentConfigSchema = z.looseObject({
  type: str,
  import_path: str,
  force_build: bool,
  delete: bool,
  override_cpus: num,
  override_memory_mb: num,
  override_storage_mb: num,
  override_gpus: num,
  env: stringMap,
  kwargs: record,
});

export const lenientVerifierConfigSchema = z.looseObject({
  override_timeout_sec: num,
  max_timeout_sec: num,
  env: stringMap,
  disable: bool,
});

const multipliers = {
  timeout_multiplier: num,
  agent_timeout_multiplier: num,
  verifier_timeout_multiplier: num,
  agent_setup_timeout_multiplier: num,
  environment_build_timeout_multiplier: num,
};

/** A trial's config.json (also embedded as result.json's `config`). */
export const lenientTrialConfigSchema = z.looseObject({
  task: lenientTaskRefSchema.nullable().optional(),
  trial_name: str,
  trials_dir: str,
  ...multipliers,
  agent: lenientAgentConfigSchema.nullable().optional(),
  environment: lenientEnvironmentConfigSchema.nullable().optional(),
  verifier: lenientVerifierConfigSchema.nullable().optional(),
  artifacts: z.array(z.unknown()).nullable().optional(),
  job_id: str,
});

const lenientAgentContextSchema = z.looseObject({
  n_input_tokens: num,
  n_cache_tokens: num,
  n_output_tokens: num,
  cost_usd: num,
  rollout_details: z.array(z.unknown()).nullable().optional(),
  metadata: record,
});

const lenientVerifierResultSchema = z.looseObject({ rewards: z.record(z.string(), z.number().nullable()).nullable().optional() });

/** One step of a multi-step trial (result.json's step_results[]); its files are under steps/<step_name>/. */
const lenientStepResultSchema = z.looseObject({
  step_name: str,
  agent_result: lenientAgentContextSchema.nullable().optional(),
  verifier_result: lenientVerifierResultSchema.nullable().optional(),
  exception_info: lenientExceptionInfoSchema.nullable().optional(),
  agent_execution: lenientTimingSchema.nullable().optional(),
  verifier: lenientTimingSchema.nullable().optional(),
});

/** A trial's result.json. */
export const lenientTrialResultSchema = z.looseObject({
  id: str,
  task_name: str,
  trial_name: str,
  trial_uri: str,
  task_id: record,
  source: str,
  task_checksum: str,
  config: lenientTrialConfigSchema.nullable().optional(),
  agent_info: z
    .looseObject({
      name: str,
      version: str,
      model_info: z.looseObject({ name: str, provider: str }).nullable().optional(),
    })
    .nullable()
    .optional(),
  agent_result: lenientAgentContextSchema.nullable().optional(),
  verifier_result: lenientVerifierResultSchema.nullable().optional(),
  exception_info: lenientExceptionInfoSchema.nullable().optional(),
  started_at: str,
  finished_at: str,
  environment_setup: lenientTimingSchema.nullable().optional(),
  agent_setup: lenientTimingSchema.nullable().optional(),
  agent_execution: lenientTimingSchema.nullable().optional(),
  verifier: lenientTimingSchema.nullable().optional(),
  /** Multi-step trials only: one entry per step that ran, in order. */
  step_results: z.array(lenientStepResultSchema).nullable().optional(),
});

const lenientRetrySchema = z.looseObject({
  max_retries: num,
  include_exceptions: z.array(z.string()).nullable().optional(),
  exclude_exceptions: z.array(z.string()).nullable().optional(),
  wait_multiplier: num,
  min_wait_sec: num,
  max_wait_sec: num,
});

/** A job's config.json. Older Harbor versions nest concurrency and retry under `orchestrator`. */
export const lenientJobConfigSchema = z.looseObject({
  job_name: str,
  jobs_dir: str,
  n_attempts: num,
  ...multipliers,
  debug: bool,
  n_concurrent_trials: num,
  quiet: bool,
  retry: lenientRetrySchema.nullable().optional(),
  orchestrator: z
    .looseObject({ type: str, n_concurrent_trials: num, quiet: bool, retry: lenientRetrySchema.nullable().optional() })
    .nullable()
    .optional(),
  environment: lenientEnvironmentConfigSchema.nullable().optional(),
  verifier: lenientVerifierConfigSchema.nullable().optional(),
  metrics: z.array(z.unknown()).nullable().optional(),
  agents: z.array(lenientAgentConfigSchema).nullable().optional(),
  datasets: z.array(z.looseObject({ path: str, name: str, version: str })).nullable().optional(),
  tasks: z.array(lenientTaskRefSchema).nullable().optional(),
  artifacts: z.array(z.unknown()).nullable().optional(),
});

/** A job's result.json (Harbor rewrites it live; older versions have other counters under `stats`). */
export const lenientJobResultSchema = z.looseObject({
  id: str,
  started_at: str,
  updated_at: str,
  finished_at: str,
  n_total_trials: num,
  stats: z
    .looseObject({
      n_completed_trials: num,
      n_errored_trials: num,
      n_running_trials: num,
      n_pending_trials: num,
      n_cancelled_trials: num,
      n_retries: num,
      evals: z
        .record(
          z.string(),
          z.looseObject({
            n_trials: num,
            n_errors: num,
            metrics: z.array(z.record(z.string(), z.unknown())).nullable().optional(),
            pass_at_k: z.record(z.string(), z.number()).nullable().optional(),
            reward_stats: record,
            exception_stats: record,
          }),
        )
        .nullable()
        .optional(),
      n_input_tokens: num,
      n_cache_tokens: num,
      n_output_tokens: num,
      cost_usd: num,
    })
    .nullable()
    .optional(),
});

/** A job's lock.json. */
export const lenientLockSchema = z.looseObject({
  schema_version: num,
  created_at: str,
  harbor: z.looseObject({ version: str, is_editable: bool }).nullable().optional(),
  invocation: z.array(z.string()).nullable().optional(),
  n_concurrent_trials: num,
  trials: z.array(z.looseObject({ task: z.looseObject({ name: str, digest: str }).nullable().optional() })).nullable().optional(),
});

/**
 * The statistics fields of a trial result.json (TrialSummary below): the rest of the document is dropped, and a
 * malformed optional block reads as null instead of failing the trial.
 */
const summaryNum = z.number().nullable().optional().catch(null);
const summaryPolicy = z.object({ has_valid_reward: z.boolean().optional().catch(undefined) }).nullable().optional().catch(null);
export const trialSummarySchema = z.object({
  trial_name: z.string().optional(),
  task_name: z.string().optional(),
  source: z.string().nullable().optional().catch(null),
  started_at: z.string().nullable().optional().catch(null),
  finished_at: z.string().nullable().optional().catch(null),
  verifier_result: z
    .object({ rewards: z.record(z.string(), z.number().nullable()).nullable().optional() })
    .nullable()
    .optional()
    .catch(null),
  exception_info: z
    .object({ exception_type: z.string().optional(), policy: summaryPolicy, policy_override: summaryPolicy })
    .nullable()
    .optional()
    .catch(null),
  /** Harbor ≥ 0.26 records whether the reward counts (stats/records.ts). */
  reward_valid: z.boolean().optional().catch(undefined),
  agent_info: z
    .object({
      name: z.string().optional(),
      model_info: z.object({ name: z.string().optional(), provider: z.string().nullable().optional() }).nullable().optional(),
    })
    .nullable()
    .optional()
    .catch(null),
  agent_result: z
    .object({ n_input_tokens: summaryNum, n_cache_tokens: summaryNum, n_output_tokens: summaryNum, cost_usd: summaryNum })
    .nullable()
    .optional()
    .catch(null),
  config: z
    .object({ agent: z.object({ name: z.string().nullable().optional(), model_name: z.string().nullable().optional() }).optional() })
    .nullable()
    .optional()
    .catch(null),
  /** A multi-step trial's steps (their exception_info and agent_result count for the trial); read as they are. */
  step_results: z.array(z.unknown()).nullable().optional().catch(null),
});

/**
 * What statistics and job resume need from a trial's result.json (any Harbor version, or tmax). stats/records.ts's
 * `fastTrialRecord` is a hand-written equivalent for well-formed documents (tests check both on the same documents):
 * listings read thousands of trials and should not pay zod's import (~60 ms here) when no trial needs the schema.
 * Importing this type loads nothing.
 */
export type TrialSummary = z.output<typeof trialSummarySchema>;
export type LenientTiming = z.infer<typeof lenientTimingSchema>;
export type LenientStepResult = z.infer<typeof lenientStepResultSchema>;
export type LenientTrialConfig = z.infer<typeof lenientTrialConfigSchema>;
export type LenientTrialResult = z.infer<typeof lenientTrialResultSchema>;
export type LenientJobConfig = z.infer<typeof lenientJobConfigSchema>;
export type LenientJobResult = z.infer<typeof lenientJobResultSchema>;
export type LenientLock = z.infer<typeof lenientLockSchema>;

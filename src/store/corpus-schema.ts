import { z } from "zod";

/**
 * The documents of a generated corpus, one schema each (the types datagen writes and every reader gets):
 *
 * - a task spec, as `tmax gen sample` writes it (one JSON line of a specs file; also each manifest entry's `spec` and
 *   each task's generation/spec.json);
 * - a manifest entry (one JSON line of corpus/manifest.jsonl);
 * - the `[metadata]` table `tmax gen build` writes into each accepted task's task.toml (with `validation`), and
 *   `tmax gen solve` extends (`difficulty_tier`, `solve`).
 *
 * Specs and manifest entries are written by tmax only and are read strictly: every key must be there with its type.
 * The metadata table is read leniently, because generated corpora get hand-edited and re-exported: every key may be
 * missing (readers fall back to generation/spec.json or leave the value empty), keys tmax does not know are ignored,
 * and only a key that is present with the wrong type is an error.
 */

/** One task specification: an independent draw from the taxonomy's axes, with everything needed to redo it. */
export const taskSpecSchema = z.object({
  /** spec_<index, 6 digits>_<8 hex>: unique for (seed, index, taxonomy). */
  id: z.string().min(1),
  index: z.number().int().nonnegative(),
  /** The run's seed (`--seed`). */
  seed: z.number(),
  /** The spec's own seed, derived from (seed, index): the spec can be redrawn alone. */
  spec_seed: z.number(),
  corpus_kind: z.string(),
  /** Digest of the taxonomy file the spec was drawn from. */
  taxonomy: z.string(),
  domain: z.string(),
  skill_type: z.string(),
  skills: z.array(z.string()),
  task_complexity: z.string(),
  command_complexity: z.string(),
  verifier_kind: z.string(),
  fixture_kind: z.string(),
  persona: z.string(),
  language: z.string(),
  anchor: z.string().nullable(),
});
export type TaskSpec = z.infer<typeof taskSpecSchema>;

/**
 * What validation in containers found (a manifest entry's `validation`, and `[metadata.validation]`). TOML has no
 * null: a null value is left out of the table, and a missing nullable key reads back as null.
 */
export const validationRecordSchema = z.object({
  image_built: z.boolean(),
  build_s: z.number().nullable().default(null),
  initial_tests: z.enum(["passed", "failed", "not_run"]),
  nop_reward: z.number().nullable().default(null),
  oracle_reward: z.number().nullable().default(null),
  rounds: z.number().int().nonnegative(),
  repairs: z.number().int().nonnegative(),
});
export type ValidationRecord = z.infer<typeof validationRecordSchema>;

const tokensSchema = z.object({ prompt: z.number(), completion: z.number() });

/** One spec's outcome in a corpus build (corpus/manifest.jsonl; the last line for a spec wins). */
export const manifestEntrySchema = z.object({
  spec_id: z.string().min(1),
  index: z.number().int(),
  status: z.enum(["accepted", "rejected"]),
  /** Rejection reason (e.g. build_failed, parse_error:tests, solution_fails, contaminated); null when accepted. */
  reason: z.string().nullable(),
  /** The stage that failed last (a generation stage, or "decontam"); null when accepted. */
  stage: z.string().nullable(),
  /** Last error text (what was sent back to the model), cut to a few KB. */
  detail: z.string().nullable(),
  /** Task directory name when accepted. */
  task: z.string().nullable(),
  model: z.string(),
  tokens: tokensSchema,
  cost_usd: z.number().nullable(),
  timings: z.object({ generation_s: z.number(), validation_s: z.number(), total_s: z.number() }),
  /** LLM calls per stage (first tries, parse retries and repairs). */
  calls: z.record(z.string(), z.number()),
  repairs: z.number().int().nonnegative(),
  validation: validationRecordSchema.nullable(),
  /** Stages reached and passed, in order, for survival reports. */
  stages_passed: z.array(z.string()),
  spec: taskSpecSchema,
  finished_at: z.string(),
});
export type ManifestEntry = z.infer<typeof manifestEntrySchema>;

/** `[metadata.solve]`, written by `tmax gen solve` (every key optional when read: see the module comment). */
export const solveMetadataSchema = z.object({
  agent: z.string().optional(),
  model: z.string().optional(),
  attempts: z.number().int().nonnegative().optional(),
  /** Attempts that earned a reward (see isRewardedAttempt in datagen/tiers.ts). */
  successes: z.number().int().nonnegative().optional(),
  /** successes / attempts: the tier accuracy of the first reference model. */
  accuracy: z.number().optional(),
  /** Unbiased pass@k by k ("1", "2", …). */
  pass_at_k: z.record(z.string(), z.number()).optional(),
  /** The job the figures come from. */
  job: z.string().optional(),
  /** The second reference model's tier accuracy, when tiers used two models. */
  second_model_accuracy: z.number().optional(),
});
export type SolveMetadata = z.infer<typeof solveMetadataSchema>;

/**
 * The `[metadata]` table of a generated task's task.toml. Written by `tmax gen build` (every key but the optional
 * `anchor`, `cost_usd` and `validation`), extended by `tmax gen solve` (`difficulty_tier`, `solve`). Read leniently:
 * see the module comment.
 */
export const generatedMetadataSchema = z.object({
  /** "tmax". */
  generator: z.string().optional(),
  generator_model: z.string().optional(),
  corpus_kind: z.string().optional(),
  domain: z.string().optional(),
  skill_type: z.string().optional(),
  /** The spec's `skills`. */
  primitive_skills: z.array(z.string()).optional(),
  task_complexity: z.string().optional(),
  command_complexity: z.string().optional(),
  verifier_kind: z.string().optional(),
  fixture_kind: z.string().optional(),
  /** The spec's `persona`. */
  scenario: z.string().optional(),
  language: z.string().optional(),
  /** Present only when the spec drew an anchor. */
  anchor: z.string().optional(),
  spec_id: z.string().optional(),
  spec_seed: z.number().optional(),
  seed: z.number().optional(),
  /** Digest of the taxonomy file. */
  taxonomy: z.string().optional(),
  /** Generation cost in USD; absent when unknown. */
  cost_usd: z.number().optional(),
  tokens: tokensSchema.optional(),
  validation: validationRecordSchema.optional(),
  /** A tier name of datagen/tiers.ts; read as any string, so a corpus tiered by another tool still reads. */
  difficulty_tier: z.string().optional(),
  solve: solveMetadataSchema.optional(),
});
export type GeneratedMetadata = z.infer<typeof generatedMetadataSchema>;

/** The parts of a corpus task's task.toml the corpus tools read: `[task]` name and summary, and `[metadata]`. */
export const corpusTaskTomlSchema = z.looseObject({
  task: z.looseObject({ name: z.string().optional(), description: z.string().optional() }).optional(),
  metadata: generatedMetadataSchema.optional(),
});
export type CorpusTaskToml = z.infer<typeof corpusTaskTomlSchema>;

/**
 * The stages a spec goes through in `tmax gen build`, in order: the one definition that the builder, the manifest's
 * `stages_passed`, `gen analyze`'s survival table and the HTML report (which draws analyze's order) share.
 */

/** The generator conversations, in order (each has its prompt in prompts.ts and its reply parser in parse.ts). */
export const LLM_STAGES = ["task", "environment", "tests", "solution"] as const;
export type LlmStage = (typeof LLM_STAGES)[number];

/** The checks in real containers, in order (validate.ts): image build, initial-state test, nop → 0, oracle → 1. */
export const VALIDATION_STAGES = ["build", "initial_tests", "nop", "oracle"] as const;
export type ValidationStage = (typeof VALIDATION_STAGES)[number];

export const PIPELINE_STAGES = [...LLM_STAGES, ...VALIDATION_STAGES] as const;
export type PipelineStage = (typeof PIPELINE_STAGES)[number];

/** The validation stages before `stage` (the ones a spec passed when it failed there). */
export function validationStagesBefore(stage: ValidationStage): ValidationStage[] {
  return VALIDATION_STAGES.slice(0, VALIDATION_STAGES.indexOf(stage));
}

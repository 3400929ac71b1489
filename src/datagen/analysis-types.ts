/**
 * The data `tmax gen analyze` computes about a corpus (analyze.ts); rendered as a terminal table (cli/commands/
 * gen-analyze.ts) and as a self-contained HTML report (ui/html/corpus-report.ts).
 */

/** One value of one axis. */
export interface AxisValueStats {
  value: string;
  /** Specs sampled with this value (every spec in the manifest). */
  sampled: number;
  /** Of those, accepted as tasks. */
  accepted: number;
  /** Of those, rejected. */
  rejected: number;
  /** accepted / (accepted + rejected); null when none finished. */
  acceptanceRate: number | null;
  /**
   * Mean tier accuracy (share of rewarded solve attempts, i.e. pass@1; see isRewardedAttempt in tiers.ts) of the
   * accepted tasks with solve results; null when none have any.
   */
  passRate: number | null;
  /** Accepted tasks that have solve results (`gen solve` ran on them; not "solved" in the isSolved sense). */
  solved: number;
}

export interface AxisStats {
  /** Axis name as in specs: domain, skill_type, skills, task_complexity, command_complexity, verifier_kind, fixture_kind, persona, language, anchor. */
  axis: string;
  values: AxisValueStats[];
  /** exp(H)/N over the accepted tasks' distribution on this axis (1 = perfectly uniform over the N values seen). */
  balance: number | null;
}

export interface AnalysisReport {
  corpusDir: string;
  generatedAt: string;
  totals: {
    specs: number;
    accepted: number;
    rejected: number;
    pending: number;
    /** accepted / (accepted + rejected). */
    acceptanceRate: number | null;
    costUsd: number;
    /** costUsd / accepted; null when nothing was accepted. */
    costPerAcceptedUsd: number | null;
    promptTokens: number;
    completionTokens: number;
    /** Mean seconds per finished spec (generation + validation). */
    meanSecondsPerSpec: number | null;
  };
  /** Rejections by reason, most frequent first. */
  rejections: { reason: string; count: number }[];
  /** Where specs ended, stage by stage in PIPELINE_STAGES order (stages.ts): how many reached and passed each. */
  stages: { stage: string; reached: number; passed: number }[];
  axes: AxisStats[];
  /** Difficulty tiers of accepted tasks that were solved (gen solve), in TIERS order (tiers.ts); empty when none were. */
  tiers: { tier: string; count: number }[];
  /** Overall pass@k over solved tasks, keyed by k as a string. */
  passAtK: Record<string, number>;
  generators: { model: string; accepted: number }[];
}

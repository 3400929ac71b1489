import { readCorpus, type CorpusTask } from "../store/corpus.js";
import type { ManifestEntry, SolveMetadata } from "../store/corpus-schema.js";
import { utcIso } from "../util/time.js";
import type { AnalysisReport, AxisStats } from "./analysis-types.js";
import { SPEC_AXES, axisValues } from "./sample.js";
import { PIPELINE_STAGES } from "./stages.js";
import { TIERS } from "./tiers.js";

/** exp(H)/N over a distribution of counts (1 = uniform); null when empty. */
export function balance(counts: number[]): number | null {
  const total = counts.reduce((a, b) => a + b, 0);
  const nonzero = counts.filter((c) => c > 0);
  if (total === 0 || counts.length === 0) return null;
  const h = -nonzero.reduce((s, c) => s + (c / total) * Math.log(c / total), 0);
  return Math.exp(h) / counts.length;
}

/** Analyses a corpus from its manifest and its tasks' metadata (solve results when `gen solve` ran). */
export function analyzeCorpus(corpusDir: string): AnalysisReport {
  const corpus = readCorpus(corpusDir);
  const manifest = [...corpus.manifest().values()];
  const tasks = corpus.tasks();
  const taskBySpec = new Map<string, CorpusTask>();
  for (const t of tasks) {
    const id = t.metadata.spec_id ?? t.spec?.id;
    if (id) taskBySpec.set(id, t);
  }
  const pending = corpus.inProgress().length;

  const accepted = manifest.filter((e) => e.status === "accepted");
  const rejected = manifest.filter((e) => e.status === "rejected");
  const cost = manifest.reduce((s, e) => s + (e.cost_usd ?? 0), 0);
  const solveOf = (e: ManifestEntry): SolveMetadata | null => taskBySpec.get(e.spec_id)?.metadata.solve ?? null;

  const axes: AxisStats[] = SPEC_AXES.map((axis) => {
    const rows = new Map<string, { sampled: number; accepted: number; rejected: number; passSum: number; solved: number }>();
    for (const e of manifest) {
      for (const v of axisValues(e.spec, axis)) {
        const r = rows.get(v) ?? { sampled: 0, accepted: 0, rejected: 0, passSum: 0, solved: 0 };
        r.sampled++;
        if (e.status === "accepted") {
          r.accepted++;
          const s = solveOf(e);
          if (s?.accuracy !== undefined) {
            r.solved++;
            r.passSum += s.accuracy;
          }
        } else r.rejected++;
        rows.set(v, r);
      }
    }
    const values = [...rows.entries()]
      .map(([value, r]) => ({
        value,
        sampled: r.sampled,
        accepted: r.accepted,
        rejected: r.rejected,
        acceptanceRate: r.accepted + r.rejected > 0 ? r.accepted / (r.accepted + r.rejected) : null,
        passRate: r.solved > 0 ? r.passSum / r.solved : null,
        solved: r.solved,
      }))
      .sort((a, b) => b.sampled - a.sampled || (a.value < b.value ? -1 : 1));
    return { axis, values, balance: balance(values.map((v) => v.accepted)) };
  });

  const reasons = new Map<string, number>();
  for (const e of rejected) reasons.set(e.reason ?? "unknown", (reasons.get(e.reason ?? "unknown") ?? 0) + 1);

  const stages = PIPELINE_STAGES.map((stage, i) => ({
    stage,
    reached: manifest.filter((e) => i === 0 || e.stages_passed.includes(PIPELINE_STAGES[i - 1]!)).length,
    passed: manifest.filter((e) => e.stages_passed.includes(stage)).length,
  }));

  const tierCounts = new Map<string, number>();
  const passSums: Record<string, number> = {};
  const passCounts: Record<string, number> = {};
  for (const t of tasks) {
    const tier = t.metadata.difficulty_tier;
    if (tier) tierCounts.set(tier, (tierCounts.get(tier) ?? 0) + 1);
    const pk = t.metadata.solve?.pass_at_k;
    for (const [k, v] of Object.entries(pk ?? {})) {
      passSums[k] = (passSums[k] ?? 0) + v;
      passCounts[k] = (passCounts[k] ?? 0) + 1;
    }
  }
  const generators = new Map<string, number>();
  for (const e of accepted) generators.set(e.model, (generators.get(e.model) ?? 0) + 1);

  return {
    corpusDir,
    generatedAt: utcIso(),
    totals: {
      specs: manifest.length + pending,
      accepted: accepted.length,
      rejected: rejected.length,
      pending,
      acceptanceRate: manifest.length > 0 ? accepted.length / manifest.length : null,
      costUsd: cost,
      costPerAcceptedUsd: accepted.length > 0 ? cost / accepted.length : null,
      promptTokens: manifest.reduce((s, e) => s + e.tokens.prompt, 0),
      completionTokens: manifest.reduce((s, e) => s + e.tokens.completion, 0),
      meanSecondsPerSpec: manifest.length > 0 ? manifest.reduce((s, e) => s + e.timings.total_s, 0) / manifest.length : null,
    },
    rejections: [...reasons.entries()].sort((a, b) => b[1] - a[1]).map(([reason, count]) => ({ reason, count })),
    stages,
    axes,
    tiers: TIERS.filter((t) => tierCounts.has(t)).map((tier) => ({ tier, count: tierCounts.get(tier)! })),
    passAtK: Object.fromEntries(
      Object.keys(passSums)
        .sort((a, b) => Number(a) - Number(b))
        .map((k) => [k, passSums[k]! / passCounts[k]!]),
    ),
    generators: [...generators.entries()].map(([model, n]) => ({ model, accepted: n })),
  };
}

import { basename } from "node:path";
import { analyzeCorpus } from "../datagen/analyze.js";
import { readCorpus } from "../store/corpus.js";
import { renderReportHtml } from "../ui/html/corpus-report.js";
import { listFiles } from "../util/file-tree.js";
import type { CorpusResponse, CorpusRow } from "./api-types.js";

/**
 * A generated corpus: its totals, rejection reasons, tiers and pass@k (datagen/analyze.ts, the figures of
 * `tmax gen analyze`), each accepted task's metadata and files, and the analysis report itself (axis balance,
 * acceptance and pass rates by axis: ui/html/corpus-report.ts), which the page shows in a sandboxed frame.
 */

export function corpusRow(path: string, dir: string): CorpusRow {
  const entries = [...readCorpus(dir).manifest().values()];
  return { path, name: basename(dir), accepted: entries.filter((e) => e.status === "accepted").length, rejected: entries.filter((e) => e.status === "rejected").length };
}

export async function corpusDetail(path: string, dir: string): Promise<CorpusResponse> {
  const report = analyzeCorpus(dir);
  const tasks = await Promise.all(
    readCorpus(dir).tasks().map(async (t) => {
      const m = t.metadata;
      return {
        name: t.name,
        domain: m.domain ?? t.spec?.domain ?? null,
        skillType: m.skill_type ?? t.spec?.skill_type ?? null,
        language: m.language ?? t.spec?.language ?? null,
        tier: m.difficulty_tier ?? null,
        oracleReward: m.validation?.oracle_reward ?? null,
        nopReward: m.validation?.nop_reward ?? null,
        files: await listFiles(t.dir),
      };
    }),
  );
  const { specs, accepted, rejected, pending, acceptanceRate, costUsd, costPerAcceptedUsd } = report.totals;
  return {
    path,
    name: basename(dir),
    totals: { specs, accepted, rejected, pending, acceptanceRate, costUsd, costPerAcceptedUsd },
    rejections: report.rejections,
    tiers: report.tiers,
    passAtK: report.passAtK,
    tasks,
  };
}

/** The corpus's analysis report as one self-contained HTML document (inline CSS and SVG, no scripts). */
export function corpusReportHtml(dir: string): string {
  return renderReportHtml(analyzeCorpus(dir), { title: `${basename(dir)}: corpus analysis` });
}

import { join, resolve } from "node:path";
import Table from "cli-table3";
import pc from "picocolors";
import { analyzeCorpus } from "../../datagen/analyze.js";
import { renderReportHtml } from "../../ui/html/corpus-report.js";
import { writeFileAtomic } from "../../util/atomic-write.js";
import { EXIT, type ExitCode } from "../exit-codes.js";

const pct = (x: number | null): string => (x === null ? "–" : `${(x * 100).toFixed(1)}%`);
const usd = (x: number | null): string => (x === null ? "–" : `$${x.toFixed(4)}`);

/** `tmax gen analyze`: axis balance, acceptance and pass rates by axis, cost per accepted task; HTML report. */
export async function genAnalyzeCommand(corpusArg: string, o: { output?: string; json: boolean }): Promise<ExitCode> {
  const corpus = resolve(corpusArg);
  const report = analyzeCorpus(corpus);
  const htmlPath = resolve(o.output ?? join(corpus, "report.html"));
  await writeFileAtomic(htmlPath, renderReportHtml(report));
  await writeFileAtomic(join(corpus, "analysis.json"), JSON.stringify(report, null, 2) + "\n");
  if (o.json) {
    console.log(JSON.stringify(report, null, 2));
    return EXIT.ok;
  }
  const t = report.totals;
  const head = new Table({ style: { head: [], border: [] }, chars: { mid: "", "left-mid": "", "mid-mid": "", "right-mid": "" } });
  head.push(
    [pc.bold("Specs"), `${t.specs} (${t.accepted} accepted, ${t.rejected} rejected, ${t.pending} pending)`],
    [pc.bold("Acceptance"), pct(t.acceptanceRate)],
    [pc.bold("Cost"), `${usd(t.costUsd)} total, ${usd(t.costPerAcceptedUsd)} per accepted task`],
    [pc.bold("Tokens"), `${t.promptTokens} prompt / ${t.completionTokens} completion`],
    [pc.bold("Rejections"), report.rejections.map((r) => `${r.reason} ${r.count}`).join(", ") || "–"],
    [pc.bold("Tiers"), report.tiers.map((x) => `${x.tier} ${x.count}`).join(", ") || "– (run tmax gen solve)"],
    [pc.bold("pass@k"), Object.entries(report.passAtK).map(([k, v]) => `@${k} ${v.toFixed(3)}`).join("  ") || "–"],
  );
  console.log(head.toString());
  const axes = new Table({ head: ["axis", "values", "balance", "acceptance by value (top 4 by count)"].map((h) => pc.bold(h)), style: { head: [], border: [] } });
  for (const a of report.axes) {
    if (a.axis === "skills" || a.axis === "persona" || a.axis === "anchor") {
      axes.push([a.axis, String(a.values.length), a.balance === null ? "–" : a.balance.toFixed(3), ""]);
      continue;
    }
    axes.push([a.axis, String(a.values.length), a.balance === null ? "–" : a.balance.toFixed(3), a.values.slice(0, 4).map((v) => `${v.value} ${pct(v.acceptanceRate)}`).join(", ")]);
  }
  console.log(axes.toString());
  console.log(`report: ${htmlPath}`);
  return EXIT.ok;
}

import type { CorpusResponse, CorpusTaskRow } from "../../../src/view/api-types.js";
import { api } from "../api.js";
import { fill, h, keyValues, section } from "../dom.js";
import { fmt, passAtKText } from "../format.js";
import { setPageKeys } from "../keys.js";
import { type PageContext } from "../page.js";
import { href } from "../routes.js";
import { dataTable, type Column } from "../table.js";

/**
 * A generated corpus: totals, rejection reasons and tiers, the analysis report (axis balance, acceptance and pass
 * rates by axis; drawn by the server, shown in a sandboxed frame) and every accepted task with its files.
 */

function taskColumns(corpus: CorpusResponse): Column<CorpusTaskRow>[] {
  return [
    { label: "Task", sort: (t) => t.name, cell: (t) => h("span", { class: "mono" }, t.name) },
    { label: "Domain", sort: (t) => t.domain, cell: (t) => t.domain ?? "–" },
    { label: "Skill", sort: (t) => t.skillType, cell: (t) => t.skillType ?? "–" },
    { label: "Language", sort: (t) => t.language, cell: (t) => t.language ?? "–" },
    { label: "Tier", sort: (t) => t.tier, cell: (t) => t.tier ?? "–" },
    { label: "Oracle / nop", sort: (t) => t.oracleReward, numeric: true, cell: (t) => `${fmt.reward(t.oracleReward)} / ${fmt.reward(t.nopReward)}` },
    {
      label: "Files",
      cell: (t) =>
        h(
          "details",
          {},
          h("summary", {}, `${t.files.length} files`),
          h("ul", { class: "files" }, t.files.map((f) => h("li", {}, h("a", { href: api.fileUrl(`${corpus.path}/${t.name}/${f}`), target: "_blank", rel: "noopener" }, f)))),
        ),
    },
  ];
}

export async function corpusPage(ctx: PageContext, path: string): Promise<void> {
  const c = await api.corpus(path);
  ctx.crumbs([{ label: c.name }]);
  const t = c.totals;
  const report = h("iframe", { class: "report", src: api.corpusReportUrl(path), sandbox: "", title: "corpus analysis report", loading: "lazy" });
  fill(
    ctx.main,
    section(
      c.name,
      keyValues([
        ["Specs", `${fmt.count(t.specs)}: ${fmt.count(t.accepted)} accepted, ${fmt.count(t.rejected)} rejected, ${fmt.count(t.pending)} pending`],
        ["Acceptance", fmt.percent(t.acceptanceRate)],
        ["Cost", `${fmt.usd(t.costUsd)} (${fmt.usd(t.costPerAcceptedUsd)} per accepted task)`],
        ["Rejections", c.rejections.map((r) => `${r.reason} ×${r.count}`).join(", ") || "none"],
        ["Tiers", c.tiers.map((x) => `${x.tier} ${x.count}`).join(", ") || "– (run tmax gen solve)"],
        ["pass@k", passAtKText(c.passAtK) || "–"],
      ]),
    ),
    section("Analysis", report),
    section(`Tasks (${c.tasks.length})`, dataTable({ columns: taskColumns(c), rows: c.tasks, text: (x) => [x.name, x.domain, x.skillType, x.language, x.tier].join(" "), sortBy: { column: 0 }, placeholder: "filter by name, domain, skill, language, tier…" })),
  );
  setPageKeys({ up: href.jobs() });
}

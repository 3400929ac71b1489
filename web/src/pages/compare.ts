import type { CompareResponse } from "../../../src/view/api-types.js";
import { api } from "../api.js";
import { h, section, fill } from "../dom.js";
import { fmt } from "../format.js";
import { setPageKeys } from "../keys.js";
import { link, type PageContext } from "../page.js";
import { href } from "../routes.js";
import { dataTable, type Column } from "../table.js";

/** Jobs side by side per task: pass rates, flipped tasks first, and each job's difference from the first ± its SE. */

type Row = CompareResponse["tasks"][number];

/** A difference of rates in percentage points, with its sign: "+12.5", "-3.0". */
const signedPoints = (d: number): string => `${d >= 0 ? "+" : ""}${(d * 100).toFixed(1)}`;

/** Job `i`'s pass rate on the row's task minus the first job's; null when either lacks the task. */
function taskDifference(r: Row, i: number): number | null {
  const base = r.cells[0];
  const other = r.cells[i];
  return base && other ? other.mean - base.mean : null;
}

function cell(c: Row["cells"][number]): HTMLElement {
  if (!c) return h("span", { class: "muted" }, "–");
  return h("span", { class: c.mean >= 1 ? "badge pass" : c.mean > 0 ? "badge part" : "badge fail", title: `${c.attempts} attempts` }, fmt.percent(c.mean));
}

export async function comparePage(ctx: PageContext, paths: string[]): Promise<void> {
  const data = await api.compare(paths);
  ctx.crumbs([{ label: `compare ${data.jobs.length} jobs` }]);
  const columns: Column<Row>[] = [
    { label: "Task", sort: (r) => r.task, cell: (r) => h("span", { class: "mono" }, r.task) },
    { label: "Flipped", sort: (r) => (r.flipped ? 0 : 1), cell: (r) => (r.flipped ? h("span", { class: "badge part" }, "flipped") : "") },
    ...data.jobs.map((j, i): Column<Row> => ({ label: `${i + 1}. ${j.name}`, title: j.path, numeric: true, sort: (r) => r.cells[i]?.mean ?? null, cell: (r) => cell(r.cells[i] ?? null) })),
    ...data.jobs.slice(1).map((j, i): Column<Row> => ({
      label: `Δ ${i + 2}−1`,
      title: `${j.name}'s pass rate minus ${data.jobs[0]!.name}'s, in points`,
      numeric: true,
      sort: (r) => taskDifference(r, i + 1),
      cell: (r) => {
        const d = taskDifference(r, i + 1);
        return d === null ? h("span", { class: "muted" }, "–") : h("span", { class: d > 0 ? "gain" : d < 0 ? "loss" : "muted" }, signedPoints(d));
      },
    })),
  ];
  const legend = h(
    "ol",
    { class: "compare-jobs" },
    data.jobs.map((j, i) => {
      const d = i > 0 ? data.differences[i - 1] : undefined;
      return h(
        "li",
        {},
        link(href.job(j.path), j.name),
        ` — ${j.agent ?? "–"} / ${j.model ?? "–"}: ${fmt.meanSem(j.reward.mean, j.reward.sem)} %`,
        d ? [h("strong", {}, ` · Δ vs 1: ${signedPoints(d.diff)} ± ${(d.se * 100).toFixed(1)} points over ${d.commonTasks} common tasks`), h("span", { class: "muted" }, ` (95% CI ${signedPoints(d.diff - 1.96 * d.se)} to ${signedPoints(d.diff + 1.96 * d.se)})`)] : null,
      );
    }),
  );
  const flipped = data.tasks.filter((t) => t.flipped).length;
  fill(
    ctx.main,
    section("Compare", legend, h("p", { class: "muted" }, `${data.tasks.length} tasks, ${flipped} flipped (solved at least once in one job, never in another). Δ: mean of the per-task differences, ± its standard error.`)),
    section("Per task", dataTable({ columns, rows: data.tasks, text: (r) => `${r.task}${r.flipped ? " flipped" : ""}`, sortBy: { column: 1 }, placeholder: "filter tasks (type “flipped” for flipped ones)…" })),
  );
  setPageKeys({ up: href.jobs() });
}

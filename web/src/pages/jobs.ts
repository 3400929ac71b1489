import type { CorpusRow, JobRow, RunRow } from "../../../src/view/api-types.js";
import { api } from "../api.js";
import { h, section, fill } from "../dom.js";
import { errorsText, fmt, largestPassAtK, passAtKText } from "../format.js";
import { setPageKeys } from "../keys.js";
import { link, type PageContext } from "../page.js";
import { href, parentPath } from "../routes.js";
import { dataTable, type Column } from "../table.js";

/**
 * The jobs page: every job found under the viewed directories (sortable, filterable, selectable to compare), then the
 * training runs and the generated corpora.
 */

const jobColumns: Column<JobRow>[] = [
  { label: "Job", sort: (j) => j.path, cell: (j) => h("span", { class: "job-cell" }, link(href.job(j.path), j.name), h("div", { class: "sub" }, parentPath(j.path) || "(a root)")) },
  { label: "Agent", sort: (j) => j.agent, cell: (j) => j.agent ?? "–" },
  { label: "Model", sort: (j) => j.model, cell: (j) => h("span", { class: "mono" }, j.model ?? "–") },
  { label: "Dataset", sort: (j) => j.dataset, cell: (j) => j.dataset ?? "–" },
  { label: "Trials", sort: (j) => j.trials, numeric: true, cell: (j) => `${fmt.count(j.trials)}${j.unfinished ? ` (+${j.unfinished} running)` : ""}` },
  { label: "Tasks", sort: (j) => j.tasks, numeric: true, cell: (j) => fmt.count(j.tasks) },
  {
    label: "Errors",
    sort: (j) => j.nErrored,
    numeric: true,
    title: "trials that raised an exception, and how many of each type",
    cell: (j) => h("span", { class: j.nErrored ? "warn" : null }, fmt.count(j.nErrored), j.nErrored ? h("div", { class: "sub error-types" }, errorsText(j.errors)) : null),
  },
  { label: "Mean ± SEM (%)", sort: (j) => j.reward.mean, numeric: true, title: "mean reward, ± standard error over runs (attempt rounds)", cell: (j) => fmt.meanSem(j.reward.mean, j.reward.sem) },
  { label: "pass@k", sort: (j) => Object.values(j.passAtK).at(-1) ?? null, title: "pass@k at the largest k (every k in the cell's tooltip)", cell: (j) => h("span", { title: passAtKText(j.passAtK) }, largestPassAtK(j.passAtK)) },
  { label: "Duration", sort: (j) => j.durationSec, numeric: true, cell: (j) => fmt.seconds(j.durationSec) },
  { label: "Tokens in/out", sort: (j) => j.tokens.input, numeric: true, cell: (j) => `${fmt.compact(j.tokens.input)} / ${fmt.compact(j.tokens.output)}` },
  { label: "Cost", sort: (j) => j.tokens.costUsd, numeric: true, cell: (j) => fmt.usd(j.tokens.costUsd) },
  { label: "Started", sort: (j) => j.startedAt, cell: (j) => (j.startedAt ? j.startedAt.replace("T", " ").slice(0, 16) : "–") },
];

const runColumns: Column<RunRow>[] = [
  { label: "Run", sort: (r) => r.path, cell: (r) => h("span", {}, link(href.run(r.path), r.name), h("div", { class: "sub" }, r.path)) },
  { label: "Steps", sort: (r) => r.steps, numeric: true, cell: (r) => fmt.count(r.steps) },
  { label: "Last reward", sort: (r) => r.lastReward, numeric: true, cell: (r) => fmt.reward(r.lastReward) },
];

const corpusColumns: Column<CorpusRow>[] = [
  { label: "Corpus", sort: (c) => c.path, cell: (c) => h("span", {}, link(href.corpus(c.path), c.name), h("div", { class: "sub" }, c.path)) },
  { label: "Accepted", sort: (c) => c.accepted, numeric: true, cell: (c) => fmt.count(c.accepted) },
  { label: "Rejected", sort: (c) => c.rejected, numeric: true, cell: (c) => fmt.count(c.rejected) },
];

export async function jobsPage(ctx: PageContext): Promise<void> {
  const data = await api.jobs();
  ctx.crumbs([]);
  const compareButton = h("button", { type: "button", class: "primary", disabled: true }, "Compare selected");
  let selected: string[] = [];
  compareButton.addEventListener("click", () => {
    if (selected.length >= 2) location.hash = href.compare(selected).slice(1);
  });
  const jobs = dataTable({
    columns: jobColumns,
    rows: data.jobs,
    text: (j) => [j.path, j.agent, j.model, j.dataset, Object.keys(j.errors).join(" ")].join(" "),
    href: (j) => href.job(j.path),
    sortBy: { column: 0 },
    selectable: {
      key: (j) => j.path,
      onSelect: (keys) => {
        selected = keys;
        compareButton.disabled = keys.length < 2;
        compareButton.textContent = keys.length >= 2 ? `Compare ${keys.length} jobs` : "Compare selected";
      },
    },
    placeholder: "filter by name, agent, model, dataset, error…",
  });
  const roots = h("p", { class: "muted" }, `Looking in ${data.roots.map((r) => r.dir).join(", ")}`);
  fill(
    ctx.main,
    section(`Jobs (${data.jobs.length})`, roots, data.jobs.length ? [h("div", { class: "actions" }, compareButton, h("span", { class: "muted" }, "select two or more jobs to compare them per task")), jobs] : h("p", {}, "No job directories found.")),
    data.runs.length ? section(`Training runs (${data.runs.length})`, dataTable({ columns: runColumns, rows: data.runs, text: (r) => r.path, href: (r) => href.run(r.path), sortBy: { column: 0 } })) : null,
    data.corpora.length ? section(`Corpora (${data.corpora.length})`, dataTable({ columns: corpusColumns, rows: data.corpora, text: (c) => c.path, href: (c) => href.corpus(c.path), sortBy: { column: 0 } })) : null,
  );
  setPageKeys({});
}

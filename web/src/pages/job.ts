import type { ErrorGroup, JobResponse, TaskRow, TrialRow } from "../../../src/view/api-types.js";
import { api } from "../api.js";
import { h, keyValues, section, serverSvg, fill } from "../dom.js";
import { errorsText, fmt, passAtKText } from "../format.js";
import { setPageKeys } from "../keys.js";
import { link, type PageContext } from "../page.js";
import { href } from "../routes.js";
import { dataTable, type Column } from "../table.js";

/**
 * A job: its figures, reward and phase charts, the per-task table, errors grouped by type and message, every trial;
 * a job still running is watched for new results.
 */

const rewardClass = (r: number | null): string => (r === null ? "badge none" : r >= 1 ? "badge pass" : r > 0 ? "badge part" : "badge fail");

function taskColumns(job: JobResponse): Column<TaskRow>[] {
  const trialPath = (name: string): string => `${job.job.path}/${name}`;
  const rewards = new Map(job.trials.map((t) => [t.name, t]));
  return [
    { label: "Task", sort: (t) => t.task, cell: (t) => h("span", { class: "mono" }, t.task) },
    { label: "Attempts", sort: (t) => t.attempts, numeric: true, cell: (t) => String(t.attempts) },
    { label: "Solved", sort: (t) => t.successes, numeric: true, cell: (t) => `${t.successes}/${t.attempts}` },
    { label: "Mean", sort: (t) => t.mean, numeric: true, cell: (t) => fmt.reward(t.mean) },
    { label: "pass@k", sort: (t) => Object.values(t.passAtK).at(-1) ?? null, cell: (t) => h("span", { class: "small" }, passAtKText(t.passAtK) || "–") },
    { label: "Exceptions", sort: (t) => Object.values(t.errors).reduce((a, b) => a + b, 0), cell: (t) => h("span", { class: "warn small" }, errorsText(t.errors)) },
    {
      label: "Trials",
      cell: (t) =>
        h(
          "span",
          { class: "attempts" },
          t.trials.map((name) => {
            const r = rewards.get(name);
            return h("a", { href: href.trial(trialPath(name)), class: rewardClass(r?.reward ?? null), title: `${name}: reward ${fmt.reward(r?.reward)}${r?.exceptionType ? `, ${r.exceptionType}` : ""}` }, r?.reward === null || r === undefined ? "·" : r.reward >= 1 ? "✓" : "✗");
          }),
        ),
    },
  ];
}

function trialColumns(job: JobResponse): Column<TrialRow>[] {
  return [
    { label: "Trial", sort: (t) => t.name, cell: (t) => link(href.trial(`${job.job.path}/${t.name}`), t.name, "mono") },
    { label: "Task", sort: (t) => t.task, cell: (t) => t.task },
    { label: job.rewardKey, sort: (t) => t.reward, numeric: true, cell: (t) => h("span", { class: rewardClass(t.reward) }, fmt.reward(t.reward)) },
    { label: "Exception", sort: (t) => t.exceptionType, cell: (t) => h("span", { class: "warn" }, t.exceptionType ?? "") },
    { label: "Env setup", sort: (t) => t.seconds.environment_setup, numeric: true, cell: (t) => fmt.seconds(t.seconds.environment_setup) },
    { label: "Agent", sort: (t) => t.seconds.agent_execution, numeric: true, cell: (t) => fmt.seconds(t.seconds.agent_execution) },
    { label: "Verifier", sort: (t) => t.seconds.verifier, numeric: true, cell: (t) => fmt.seconds(t.seconds.verifier) },
    { label: "Total", sort: (t) => t.seconds.total, numeric: true, cell: (t) => fmt.seconds(t.seconds.total) },
  ];
}

function errorList(jobPath: string, groups: ErrorGroup[]): HTMLElement {
  return h(
    "div",
    { class: "errors" },
    groups.map((g) =>
      h(
        "details",
        { class: "error-group" },
        h("summary", {}, h("strong", {}, g.type), ` ×${g.count}`),
        g.messages.map((m) =>
          h(
            "div",
            { class: "error-message" },
            h("pre", { class: "pre small" }, m.message),
            h("div", { class: "small" }, `${m.count} trial${m.count === 1 ? "" : "s"}: `, m.trials.slice(0, 20).flatMap((t, i) => [i ? ", " : "", link(href.trial(`${jobPath}/${t}`), t, "mono")]), m.trials.length > 20 ? ` … ${m.trials.length - 20} more` : ""),
          ),
        ),
      ),
    ),
  );
}

export async function jobPage(ctx: PageContext, path: string): Promise<void> {
  const job = await api.job(path);
  const j = job.job;
  ctx.crumbs([{ label: j.name }]);
  const facts = keyValues([
    ["Directory", h("span", { class: "mono" }, j.path)],
    ["Agent / model", `${j.agent ?? "–"} / ${j.model ?? "–"}`],
    ["Dataset", j.dataset ?? "–"],
    ["Trials", `${fmt.count(j.trials)} over ${fmt.count(j.tasks)} tasks${j.unfinished ? `, ${j.unfinished} running` : ""}${j.unreadable ? `, ${j.unreadable} unreadable` : ""}`],
    [`Mean ${job.rewardKey} ± SEM`, `${fmt.meanSem(j.reward.mean, j.reward.sem)} % over ${j.reward.runs} run${j.reward.runs === 1 ? "" : "s"}`],
    ...(j.validRewards.trials < j.trials
      ? [["Harbor ≥ 0.26 mean", `${j.validRewards.mean === null ? "–" : `${(j.validRewards.mean * 100).toFixed(1)} %`} over the ${fmt.count(j.validRewards.trials)} trials with a valid reward (the rest left out)`] as [string, string]]
      : []),
    ["pass@k", passAtKText(j.passAtK) || "–"],
    ["Errors", errorsText(j.errors) || "none"],
    ["Duration", fmt.seconds(j.durationSec)],
    ["Tokens in / out · cost", `${fmt.compact(j.tokens.input)} / ${fmt.compact(j.tokens.output)} · ${fmt.usd(j.tokens.costUsd)}`],
  ]);
  fill(
    ctx.main,
    section(j.name, facts, h("div", { class: "charts" }, job.charts.map((c) => serverSvg(c.svg, c.title)))),
    section(`Tasks (${job.tasks.length})`, dataTable({ columns: taskColumns(job), rows: job.tasks, text: (t) => `${t.task} ${Object.keys(t.errors).join(" ")}`, sortBy: { column: 0 }, placeholder: "filter tasks…" })),
    job.errors.length ? section("Errors by type", errorList(j.path, job.errors)) : null,
    job.unreadable.length ? section("Unreadable trials", h("ul", {}, job.unreadable.map((u) => h("li", {}, h("span", { class: "mono" }, u.name), `: ${u.error}`)))) : null,
    section(
      `Trials (${job.trials.length})`,
      dataTable({ columns: trialColumns(job), rows: job.trials, text: (t) => `${t.name} ${t.task} ${t.exceptionType ?? ""}`, href: (t) => href.trial(`${j.path}/${t.name}`), sortBy: { column: 0 }, placeholder: "filter trials…" }),
    ),
  );
  setPageKeys({ up: href.jobs() });
  if (j.unfinished > 0) watchRunning(ctx, path, job);
}

const POLL_MS = 5000;
const progress = (r: JobResponse): string => `${r.job.trials} finished, ${r.job.unfinished} running, ${r.job.unreadable} unreadable`;

/**
 * A job still running is re-read every few seconds; when its trials changed, a banner offers to show the new state
 * (the page is not redrawn under the reader's filter, sort and highlighted row).
 */
function watchRunning(ctx: PageContext, path: string, shown: JobResponse): void {
  const banner = h("div", { class: "live-banner", role: "status", hidden: true });
  ctx.main.prepend(banner);
  const timer = setInterval(() => {
    api.job(path).then(
      (now) => {
        if (ctx.signal.aborted || progress(now) === progress(shown)) return;
        const show = h("button", { type: "button", class: "primary" }, "Show");
        show.addEventListener("click", () => {
          clearInterval(timer);
          void jobPage(ctx, path);
        });
        fill(banner, `The job moved on: ${progress(now)} (shown: ${progress(shown)}). `, show);
        banner.hidden = false;
      },
      () => undefined,
    );
  }, POLL_MS);
  ctx.signal.addEventListener("abort", () => clearInterval(timer), { once: true });
}

import type { RunResponse } from "../../../src/view/api-types.js";
import { api } from "../api.js";
import { h, section, serverSvg, fill } from "../dom.js";
import { fmt } from "../format.js";
import { setPageKeys } from "../keys.js";
import { baseName, type PageContext } from "../page.js";
import { href } from "../routes.js";

/**
 * A training run: the curves of metrics.jsonl (drawn by the server), the latest steps and the steps whose rollouts
 * were kept, polled while the page is open.
 */

const POLL_MS = 3000;
const TABLE_KEYS = ["step", "reward_mean", "kept_fraction", "logprob_diff_mean", "groups_kept", "groups_filtered_zero", "groups_filtered_one", "groups_stale", "tokens_per_s", "policy_version", "time"];

function value(v: unknown): string {
  if (typeof v === "number") return Number.isInteger(v) ? fmt.count(v) : v.toFixed(4);
  if (v === null || v === undefined) return "–";
  return typeof v === "string" ? v : JSON.stringify(v);
}

function draw(ctx: PageContext, run: RunResponse): void {
  const last = run.metrics.slice(-15).reverse();
  fill(
    ctx.main,
    section(
      run.name,
      h("p", { class: "muted" }, `${run.metrics.length} steps · updates every ${POLL_MS / 1000} s while this page is open`, h("span", { class: "live", "aria-live": "polite" }, ` · last read ${new Date().toLocaleTimeString()}`)),
      h("div", { class: "charts" }, run.charts.map((svg, i) => serverSvg(svg, ["Reward", "Kept fraction", "|Δlogprob|", "Filtered groups", "Tokens/s", "Entropy"][i] ?? ""))),
    ),
    section(
      "Latest steps",
      h("div", { class: "table-scroll" }, h("table", { class: "data" }, h("thead", {}, h("tr", {}, TABLE_KEYS.map((k) => h("th", {}, k)))), h("tbody", {}, last.map((m) => h("tr", { "data-nav": "" }, TABLE_KEYS.map((k) => h("td", { class: "num" }, value(m[k])))))))),
    ),
    run.rolloutSteps.length
      ? section("Rollouts", h("p", {}, "Steps with saved rollouts: ", run.rolloutSteps.flatMap((s, i) => [i ? ", " : "", h("a", { href: href.rollouts(`${run.path}/rollouts/step_${s}`) }, `step ${s}`)])))
      : null,
  );
}

export async function runPage(ctx: PageContext, path: string): Promise<void> {
  ctx.crumbs([{ label: baseName(path) }]);
  draw(ctx, await api.run(path));
  setPageKeys({ up: "#/" });
  const timer = setInterval(() => {
    api.run(path).then((run) => {
      if (!ctx.signal.aborted) draw(ctx, run);
    }, () => undefined);
  }, POLL_MS);
  ctx.signal.addEventListener("abort", () => clearInterval(timer), { once: true });
}

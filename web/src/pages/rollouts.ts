import type { RolloutResponse, RolloutRow, RolloutToken } from "../../../src/view/api-types.js";
import { api } from "../api.js";
import { expandableText, fill, h, keyValues, section } from "../dom.js";
import { fmt } from "../format.js";
import { setPageKeys } from "../keys.js";
import { baseName, type PageContext } from "../page.js";
import { href, parentPath } from "../routes.js";
import { dataTable, type Column } from "../table.js";

/**
 * The rollouts one training step trained on, and one rollout's token view: the response token by token, what the
 * model sampled (loss mask 1, trained on) plain and what tmax appended (observations, templates; mask 0) shaded,
 * each token's logprob on hover; tokens with a low logprob are underlined.
 */

/** `<run>/rollouts/step_N` → `<run>`. */
const runOf = (stepDir: string): string => parentPath(parentPath(stepDir));

const LOW_LOGPROB = -2.5;

const columns = (stepDir: string): Column<RolloutRow>[] => [
  { label: "#", sort: (r) => r.index, numeric: true, cell: (r) => h("a", { href: href.rollout(stepDir, r.index) }, String(r.index)) },
  { label: "Task", sort: (r) => r.task, cell: (r) => h("span", { class: "mono" }, r.task) },
  { label: "Sample", sort: (r) => r.sample, numeric: true, cell: (r) => String(r.sample) },
  { label: "Reward", sort: (r) => r.reward, numeric: true, cell: (r) => fmt.reward(r.reward) },
  { label: "Ending", sort: (r) => r.ending, cell: (r) => h("span", { class: r.error ? "warn" : null, title: r.error ?? "" }, r.ending) },
  { label: "Policy version", sort: (r) => r.policyVersion, numeric: true, cell: (r) => String(r.policyVersion) },
  { label: "Prompt tokens", sort: (r) => r.promptTokens, numeric: true, cell: (r) => fmt.count(r.promptTokens) },
  { label: "Response / trained", sort: (r) => r.responseTokens, numeric: true, cell: (r) => `${fmt.count(r.responseTokens)} / ${fmt.count(r.trainedTokens)}` },
  { label: "Turns", sort: (r) => r.turns, numeric: true, cell: (r) => String(r.turns) },
];

export async function rolloutsPage(ctx: PageContext, stepDir: string): Promise<void> {
  const data = await api.rollouts(stepDir);
  const run = runOf(stepDir);
  ctx.crumbs([{ label: baseName(run), href: href.run(run) }, { label: `${data.step} rollouts` }]);
  fill(
    ctx.main,
    section(
      `Rollouts of ${data.step} (${data.rollouts.length})`,
      dataTable({ columns: columns(stepDir), rows: data.rollouts, text: (r) => `${r.task} ${r.ending} ${r.group}`, href: (r) => href.rollout(stepDir, r.index), sortBy: { column: 0 }, placeholder: "filter by task, ending, group…" }),
    ),
  );
  setPageKeys({ up: href.run(run) });
}

function tokenSpan(t: RolloutToken): HTMLElement {
  const title = `id ${t.id} · mask ${t.mask}${t.logprob === null ? "" : ` · logprob ${t.logprob.toFixed(3)}`}`;
  const low = t.mask === 1 && t.logprob !== null && t.logprob < LOW_LOGPROB;
  return h("span", { class: `tok m${t.mask}${low ? " low" : ""}`, title }, t.text ?? `[${t.id}]`);
}

function tokenView(r: RolloutResponse): HTMLElement {
  return h("div", { class: "tokens", "aria-label": "response tokens" }, r.tokens.map(tokenSpan));
}

export async function rolloutPage(ctx: PageContext, stepDir: string, index: number): Promise<void> {
  const r = await api.rollout(stepDir, index);
  const run = runOf(stepDir);
  ctx.crumbs([{ label: baseName(run), href: href.run(run) }, { label: `${r.step} rollouts`, href: href.rollouts(stepDir) }, { label: `#${index}` }]);
  const o = r.rollout;
  const previous = index > 0 ? href.rollout(stepDir, index - 1) : null;
  fill(
    ctx.main,
    section(
      `${o.task} · sample ${o.sample}`,
      keyValues([
        ["Reward / ending", `${fmt.reward(o.reward)} · ${o.ending}${o.error ? ` (${o.error})` : ""}`],
        ["Group / policy version", `${o.group} · ${o.policyVersion}`],
        ["Tokens", `${fmt.count(o.promptTokens)} prompt · ${fmt.count(o.responseTokens)} response, ${fmt.count(o.trainedTokens)} trained (mask 1) · ${o.turns} turns`],
      ]),
      h("p", { class: "legend" }, h("span", { class: "tok m1" }, "sampled by the model (trained on)"), " ", h("span", { class: "tok m0" }, "appended by tmax (mask 0)"), " ", h("span", { class: "tok m1 low" }, `logprob < ${LOW_LOGPROB}`), r.decoded ? " · hover a token for its id and logprob" : " · token ids shown: the run's tokenizer (train-config.json model_dir) could not be loaded"),
    ),
    section("Prompt", expandableText(r.prompt, 2000)),
    section("Response", tokenView(r)),
  );
  setPageKeys({ previous, next: index + 1 < r.count ? href.rollout(stepDir, index + 1) : null, up: href.rollouts(stepDir) });
}

import type { TrialResponse, TrialStepInfo } from "../../../src/view/api-types.js";
import { api } from "../api.js";
import { expandableText, h } from "../dom.js";
import { fmt } from "../format.js";

/** A multi-step trial's steps on its page: one row per step, then each step's verifier output to expand. */

const rewardsText = (r: Record<string, number> | null): string => (r ? Object.entries(r).map(([k, v]) => `${k} = ${fmt.reward(v)}`).join(", ") : "none");

function verificationCell(s: TrialStepInfo): HTMLElement {
  const cls = s.verification === "failed" ? "warn" : s.verification === "rewarded" ? "" : "muted";
  return h("td", {}, h("span", { class: cls }, s.verification), s.rewardFile ? h("span", { class: "muted small" }, ` (${s.rewardFile})`) : null);
}

function stepsTable(steps: TrialStepInfo[]): HTMLElement {
  const head = ["step", "rewards", "verifier", "agent time", "verifier time", "exception"].map((c, i) => h("th", { class: i === 3 || i === 4 ? "num" : null }, c));
  const rows = steps.map((s) =>
    h(
      "tr",
      { "data-step": s.name },
      h("td", { class: "mono" }, s.name),
      h("td", { class: s.rewards ? "" : "muted" }, rewardsText(s.rewards)),
      verificationCell(s),
      h("td", { class: "num" }, fmt.seconds(s.agentSeconds)),
      h("td", { class: "num" }, fmt.seconds(s.verifierSeconds)),
      h("td", {}, s.exception ? h("span", { class: "warn", title: s.exception.message }, s.exception.type) : "none"),
    ),
  );
  return h("table", { class: "data narrow trial-steps" }, h("thead", {}, h("tr", {}, head)), h("tbody", {}, rows));
}

/** The step's verifier output (steps/<name>/verifier/test-stdout.txt), collapsed, with a link to the raw file. */
function stepOutput(t: TrialResponse, s: TrialStepInfo): HTMLElement {
  const file = s.dir ? `${s.dir}/verifier/test-stdout.txt` : null;
  return h(
    "details",
    { class: "step-output", "data-step": s.name },
    h("summary", {}, h("span", { class: "mono" }, s.name), `: verifier output${s.verifierStdout === null ? " (none)" : ""}`),
    s.exception?.message ? h("p", { class: "warn small" }, `${s.exception.type}: ${s.exception.message}`) : null,
    s.rewardError ? h("p", { class: "warn small" }, `reward file unusable: ${s.rewardError}`) : null,
    s.verifierStdout !== null ? expandableText(s.verifierStdout, 6000) : h("p", { class: "muted" }, "no verifier/test-stdout.txt for this step"),
    s.verifierStdout !== null && file ? h("a", { href: api.fileUrl(`${t.path}/${file}`), target: "_blank", rel: "noopener", class: "small" }, file) : null,
  );
}

export function stepsSection(t: TrialResponse, steps: TrialStepInfo[]): HTMLElement[] {
  return [stepsTable(steps), h("div", { class: "step-outputs" }, steps.map((s) => stepOutput(t, s)))];
}

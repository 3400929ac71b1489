import type { TrialResponse } from "../../../src/view/api-types.js";
import { api } from "../api.js";
import { expandableText, h, keyValues, section, fill } from "../dom.js";
import { fmt } from "../format.js";
import { setPageKeys } from "../keys.js";
import { baseName, link, type PageContext } from "../page.js";
import { href } from "../routes.js";
import { stepsSection } from "./trial-steps.js";

/**
 * A trial: rewards, timings, the exception with its traceback, a multi-step trial's steps, the instruction, the
 * verifier's output, every file.
 */

const PHASES = ["environment_setup", "agent_setup", "agent_execution", "verifier", "trial"] as const;

function timingsTable(t: TrialResponse): HTMLElement {
  const rows = PHASES.map((p) => {
    const x = t.timings?.[p] ?? null;
    return h("tr", {}, h("td", {}, p.replace("_", " ")), h("td", { class: "num" }, fmt.seconds(x?.seconds)), h("td", { class: "mono small" }, x?.startedAt ?? "–"), h("td", { class: "mono small" }, x?.finishedAt ?? "–"));
  });
  return h("table", { class: "data narrow" }, h("thead", {}, h("tr", {}, h("th", {}, "phase"), h("th", { class: "num" }, "seconds"), h("th", {}, "started"), h("th", {}, "finished"))), h("tbody", {}, rows));
}

function fileList(t: TrialResponse): HTMLElement {
  return h(
    "ul",
    { class: "files" },
    t.files.map((f) =>
      h(
        "li",
        { style: `padding-left:${(f.path.split("/").length - 1) * 16}px` },
        f.type === "file" ? h("a", { href: api.fileUrl(`${t.path}/${f.path}`), target: "_blank", rel: "noopener" }, baseName(f.path)) : h("span", {}, `${baseName(f.path)}${f.type === "directory" ? "/" : ` (${f.type})`}`),
        f.type === "file" ? h("span", { class: "muted small" }, ` ${fmt.bytes(f.size)}`) : null,
      ),
    ),
  );
}

/** Where the rewards come from: the trial's reward file, or (a multi-step trial) result.json, from its steps. */
function rewardSource(t: TrialResponse): HTMLElement | null {
  if (t.rewardFile) return h("span", { class: "muted small" }, ` (verifier/${t.rewardFile})`);
  return t.steps && t.rewards ? h("span", { class: "muted small" }, " (result.json, from its steps)") : null;
}

export async function trialPage(ctx: PageContext, path: string): Promise<void> {
  const t = await api.trial(path);
  const jobName = baseName(t.jobPath);
  ctx.crumbs([{ label: jobName, href: href.job(t.jobPath) }, { label: t.name }]);
  const rewards = t.rewards ? Object.entries(t.rewards).map(([k, v]) => `${k} = ${fmt.reward(v)}`).join(", ") : "none";
  const sibling = (name: string | null): string | null => (name ? href.trial(`${t.jobPath}/${name}`) : null);
  const nav = h(
    "div",
    { class: "actions" },
    t.hasTrajectory ? h("a", { href: href.trajectory(t.path), class: "button primary" }, "Trajectory →") : h("span", { class: "muted" }, "no trajectory"),
    t.previous ? link(sibling(t.previous)!, "[ previous trial", "button") : null,
    t.next ? link(sibling(t.next)!, "next trial ]", "button") : null,
  );
  fill(
    ctx.main,
    section(
      t.name,
      nav,
      keyValues([
        ["Task", t.task ?? "–"],
        ["Agent / model", `${t.agent ?? "–"} / ${t.model ?? "–"}`],
        ["Rewards", [h("span", { class: t.rewards ? "" : "muted" }, rewards), rewardSource(t)]],
        ["Exception", t.exception ? h("span", { class: "warn" }, t.exception.type) : "none"],
      ]),
      t.rewardError ? h("p", { class: "warn" }, `reward file unusable: ${t.rewardError}`) : null,
    ),
    t.exception ? section(`Exception: ${t.exception.type}`, t.exception.message ? h("p", {}, t.exception.message) : null, t.exception.traceback ? expandableText(t.exception.traceback, 4000) : null) : null,
    t.steps ? section(`Steps (${t.steps.length})`, stepsSection(t, t.steps)) : null,
    section("Timings", timingsTable(t)),
    section("Instruction", t.instruction ? expandableText(t.instruction, 3000, "pre prose") : h("p", { class: "muted" }, "not recorded (no trajectory)")),
    t.steps ? null : section("Verifier output", t.verifierStdout ? expandableText(t.verifierStdout, 6000) : h("p", { class: "muted" }, "no verifier/test-stdout.txt")),
    section(`Files (${t.files.filter((f) => f.type === "file").length})`, fileList(t)),
  );
  setPageKeys({ previous: sibling(t.previous), next: sibling(t.next), up: href.job(t.jobPath) });
}

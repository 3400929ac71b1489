import type { StepView, ToolCallView, TrajectoryResponse } from "../../../src/view/api-types.js";
import { api } from "../api.js";
import { expandableText, h, section, fill } from "../dom.js";
import { fmt } from "../format.js";
import { setPageKeys } from "../keys.js";
import { baseName, type PageContext } from "../page.js";
import { href, parentPath } from "../routes.js";

/**
 * A trajectory step by step (tmax's or any Harbor agent's ATIF): reasoning and the system prompt collapsed, the
 * message, each command with its exit code and its observation (long ones cut, with a button to show all), per-step
 * tokens and seconds. The highlighted step (j/k) is kept in the URL (?step=N), so a link can point at a step.
 */

const OBSERVATION_CHARS = 1500;
const MESSAGE_CHARS = 4000;

function callView(c: ToolCallView): HTMLElement {
  const exit = c.exitCode === null ? null : h("span", { class: c.exitCode === 0 ? "badge pass" : "badge fail", title: "exit code" }, `exit ${c.exitCode}`);
  return h(
    "div",
    { class: "call" },
    h("div", { class: "call-head" }, h("span", { class: "tool" }, c.name), exit),
    c.command ? h("pre", { class: "pre command" }, c.command) : null,
    c.observation !== null ? expandableText(c.observation, OBSERVATION_CHARS, "pre observation") : h("p", { class: "muted small" }, "no observation"),
  );
}

function stepMeta(s: StepView): string {
  const parts: string[] = [];
  if (s.promptTokens !== null || s.completionTokens !== null) parts.push(`${fmt.count(s.promptTokens)} prompt / ${fmt.count(s.completionTokens)} completion tokens`);
  if (s.llmSec !== null) parts.push(`model ${fmt.seconds(s.llmSec)}`);
  if (s.bashSec !== null) parts.push(`bash ${fmt.seconds(s.bashSec)}`);
  return parts.join(" · ");
}

function stepView(s: StepView): HTMLElement {
  return h(
    "article",
    { class: `step step-${s.source}`, id: `step-${s.index}`, "data-nav": "", "data-step": s.index },
    h("header", { class: "step-head" }, h("span", { class: "step-no" }, `#${s.index}`), h("span", { class: "source" }, s.source), h("span", { class: "muted small" }, stepMeta(s))),
    s.reasoning ? h("details", { class: "reasoning" }, h("summary", {}, `reasoning (${s.reasoning.length.toLocaleString()} characters)`), h("pre", { class: "pre prose" }, s.reasoning)) : null,
    s.message && s.source === "system"
      ? h("details", { class: "reasoning system-prompt" }, h("summary", {}, `system prompt (${s.message.length.toLocaleString()} characters)`), h("pre", { class: "pre prose" }, s.message))
      : s.message
        ? expandableText(s.message, s.source === "agent" ? MESSAGE_CHARS : 1200, "pre prose message")
        : null,
    s.calls.map(callView),
  );
}

function summary(t: TrajectoryResponse): string {
  const commands = t.steps.reduce((n, s) => n + s.calls.length, 0);
  const failed = t.steps.reduce((n, s) => n + s.calls.filter((c) => c.exitCode !== null && c.exitCode !== 0).length, 0);
  const tokens = t.totals.promptTokens !== null ? ` · ${fmt.compact(t.totals.promptTokens)} prompt / ${fmt.compact(t.totals.completionTokens)} completion tokens` : "";
  return `${t.steps.length} steps · ${commands} commands (${failed} non-zero exit)${tokens} · ${t.format === "atif" ? "ATIF" : "chat messages"} · ${t.agent ?? ""} ${t.model ?? ""}`;
}

export async function trajectoryPage(ctx: PageContext, path: string, step?: number): Promise<void> {
  const t = await api.trajectory(path);
  const jobPath = parentPath(path);
  ctx.crumbs([{ label: baseName(jobPath), href: href.job(jobPath) }, { label: baseName(path), href: href.trial(path) }, { label: "trajectory" }]);
  const steps = h("div", { class: "steps" }, t.steps.map(stepView));
  steps.addEventListener("navfocus", (e) => {
    const n = (e.target as HTMLElement).dataset.step;
    if (n) history.replaceState(null, "", href.trajectory(path, Number(n)));
  });
  fill(ctx.main, section("Trajectory", h("p", { class: "muted" }, summary(t)), h("p", { class: "muted small mono" }, t.file)), steps);
  const initial = step ? t.steps.findIndex((s) => s.index === step) : -1;
  setPageKeys({ up: href.trial(path) }, initial);
}

import pc from "picocolors";
import type { EpisodeEnding, EpisodeEvent } from "../agent/tmax/episode.js";

const MAX_OUTPUT_LINES = 40;
const MAX_REASONING_LINES = 12;

function clip(text: string, maxLines: number): string {
  const lines = text.split("\n");
  if (lines.length <= maxLines) return text;
  const head = lines.slice(0, maxLines - 4);
  const tail = lines.slice(-3);
  return [...head, pc.dim(`… ${lines.length - head.length - tail.length} more lines …`), ...tail].join("\n");
}

const indent = (text: string, prefix: string): string =>
  text
    .split("\n")
    .map((l) => prefix + l)
    .join("\n");

const ENDINGS: Record<EpisodeEnding, (steps: number) => string> = {
  submitted: (n) => `submitted after ${n} step(s)`,
  max_steps: (n) => `stopped: step limit reached (${n})`,
  format_errors: () => "stopped: too many format errors in a row",
  no_tool_call: () => "stopped: a reply without a valid bash call",
  context_window: () => "stopped: the model's context window is full",
  token_budget: () => "stopped: the token budget is spent",
  cost_limit: () => "stopped: cost limit reached",
  interrupted: () => "interrupted",
  error: () => "stopped by an error",
};

/** Renders agent events for a person watching a run: reasoning, command, output, exit code, timings. */
export function renderAgentEvent(e: EpisodeEvent): string {
  switch (e.type) {
    case "model": {
      const parts = [pc.bold(`── step ${e.step} `) + pc.dim(`${"─".repeat(40)} model ${e.llmSec.toFixed(1)}s`)];
      if (e.reasoning) parts.push(pc.dim(indent(clip(e.reasoning.trim(), MAX_REASONING_LINES), "│ ")));
      if (e.text) parts.push(e.text.trim());
      if (e.command) parts.push(pc.cyan(indent(e.command, "$ ").replace(/\n\$ /g, "\n  ")));
      return parts.join("\n");
    }
    case "observation": {
      // The observation ends with "\n\n(exit_code=N)"; show the body and a status line instead.
      const body = e.output.replace(/\n\n\(exit_code=-?\d+\)$/, "");
      const status = e.timedOut
        ? pc.yellow(`⏱ timed out (${e.bashSec.toFixed(1)}s)`)
        : e.exitCode === 0
          ? pc.green(`✓ exit 0 (${e.bashSec.toFixed(1)}s)`)
          : pc.red(`✗ exit ${e.exitCode} (${e.bashSec.toFixed(1)}s)`);
      return `${clip(body, MAX_OUTPUT_LINES)}\n${status}`;
    }
    case "format_error":
      return pc.yellow(`⚠ format error: ${e.reason}`);
    case "retry":
      return pc.yellow(`↻ ${e.message}`);
    case "done":
      return pc.bold(`■ ${ENDINGS[e.status](e.steps)}`);
  }
}

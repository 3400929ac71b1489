import assert from "node:assert/strict";
import { test } from "node:test";
import { trajectoryFromJson } from "../../src/store/trajectory.js";
import { exitCodeIn, trajectoryView } from "../../src/view/trajectory-steps.js";

// Trajectories as steps, whatever wrote them: tmax's chat messages (older tmax jobs keep only these) and ATIF from
// other Harbor agents, whose messages and observations may be content parts and whose calls are not all bash.

test("tmax's chat messages: <think> reasoning split off, each call with its observation and exit code, timings in order", () => {
  const t = trajectoryFromJson("agent/chat-messages.json", [
    { role: "system", content: "You are a terminal agent." },
    { role: "user", content: "Count the lines." },
    { role: "assistant", content: "<think>wc will do</think>Counting.", tool_calls: [{ id: "c1", type: "function", function: { name: "bash", arguments: '{"command":"wc -l f"}' } }] },
    { role: "tool", tool_call_id: "c1", content: "3 f\n\n(exit_code=0)" },
    { role: "assistant", content: "not a call" },
    { role: "assistant", content: null, reasoning_content: "try again", tool_calls: [{ id: "c2", type: "function", function: { name: "bash", arguments: '{"command":"false"}' } }] },
    { role: "tool", tool_call_id: "c2", content: "(no output)\n\n(exit_code=1)" },
  ]);
  const v = trajectoryView("0/j/t", t, [{ llm_s: 1, bash_s: 0.5 }, { llm_s: 2 }, { llm_s: 3, bash_s: 0.1 }]);
  assert.equal(v.format, "chat");
  assert.deepEqual(v.steps.map((s) => s.source), ["system", "user", "agent", "agent", "agent"]);
  const [, , first, second, third] = v.steps;
  assert.deepEqual([first!.reasoning, first!.message], ["wc will do", "Counting."]);
  assert.deepEqual(first!.calls, [{ name: "bash", command: "wc -l f", observation: "3 f\n\n(exit_code=0)", exitCode: 0 }]);
  assert.deepEqual([second!.calls.length, second!.llmSec, second!.bashSec], [0, 2, null]);
  assert.deepEqual([third!.reasoning, third!.calls[0]!.exitCode, third!.llmSec, third!.bashSec], ["try again", 1, 3, 0.1]);
});

test("ATIF from another agent: content parts, non-bash tools as JSON, observations without a call id", () => {
  const t = trajectoryFromJson("agent/trajectory.json", {
    schema_version: "ATIF-v1.2",
    agent: { name: "claude-code", version: "2.0", model_name: "claude-x" },
    steps: [
      { step_id: 1, source: "user", message: [{ type: "text", text: "Fix the bug." }] },
      {
        step_id: 2,
        source: "agent",
        message: "Reading.",
        tool_calls: [
          { tool_call_id: "t1", function_name: "Read", arguments: { file_path: "/app/x.py" } },
          { tool_call_id: "t2", function_name: "Bash", arguments: { command: "pytest -q", description: "tests" } },
        ],
        observation: { results: [{ source_call_id: "t1", content: [{ type: "text", text: "print(1)" }] }, { source_call_id: "t2", content: "1 failed\nExit code: 1" }] },
        metrics: { prompt_tokens: 10, completion_tokens: 2 },
      },
      { step_id: 3, source: "agent", message: "", observation: { results: [{ source_call_id: null, content: "background output" }] } },
    ],
    final_metrics: { total_prompt_tokens: 10, total_completion_tokens: 2, total_cost_usd: 0.01 },
  });
  const v = trajectoryView("0/j/t", t, null);
  assert.deepEqual([v.agent, v.model, v.totals.costUsd], ["claude-code", "claude-x", 0.01]);
  assert.equal(v.steps[0]!.message, "Fix the bug.");
  assert.deepEqual(v.steps[1]!.calls, [
    { name: "Read", command: JSON.stringify({ file_path: "/app/x.py" }, null, 2), observation: "print(1)", exitCode: null },
    { name: "Bash", command: "pytest -q", observation: "1 failed\nExit code: 1", exitCode: 1 },
  ]);
  assert.deepEqual(v.steps[2]!.calls, [{ name: "observation", command: "", observation: "background output", exitCode: null }]);
});

test("exit codes: tmax's trailer, other agents' wording, none", () => {
  assert.equal(exitCodeIn("out\n\n(exit_code=127)"), 127);
  assert.equal(exitCodeIn("out\nexit code 2"), 2);
  assert.equal(exitCodeIn("all good"), null);
  assert.equal(exitCodeIn(null), null);
});

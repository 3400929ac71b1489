import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BASH_TOOL, SYSTEM_PROMPT } from "../../src/agent/tmax/prompts.js";
import type { Rollout } from "../../src/rl/rollout.js";
import { tempDir } from "../helpers/task-fixture.js";

/** Small job and rollout directories for the SFT export tests. */

const call = (id: string, command: string): object => ({ id, type: "function", function: { name: "bash", arguments: JSON.stringify({ command }) } });

/** tmax's agent/trajectory.json: the chat messages as received (extra provider fields included). */
export function tmaxChat(withReasoning = true): object[] {
  return [
    { role: "system", content: SYSTEM_PROMPT },
    { role: "user", content: "Your task:\n\n<task>\nfix the bug\n</task>" },
    { role: "assistant", content: "I'll look first.", ...(withReasoning ? { reasoning_content: "Start by listing." } : {}), refusal: null, tool_calls: [call("call_1", "ls /app")] },
    { role: "tool", tool_call_id: "call_1", content: "main.py\n[exit code 0]" },
    { role: "assistant", content: "Fixed; submitting.", ...(withReasoning ? { reasoning: "It works." } : {}), tool_calls: [call("call_2", "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT")] },
    { role: "tool", tool_call_id: "call_2", content: "COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT\n[exit code 0]" },
  ];
}

/** The SFT messages line's `messages` for tmaxChat(). */
export const TMAX_SFT_MESSAGES = [
  { role: "system", content: SYSTEM_PROMPT },
  { role: "user", content: "Your task:\n\n<task>\nfix the bug\n</task>" },
  { role: "assistant", content: "I'll look first.", reasoning_content: "Start by listing.", tool_calls: [call("call_1", "ls /app")] },
  { role: "tool", tool_call_id: "call_1", content: "main.py\n[exit code 0]" },
  { role: "assistant", content: "Fixed; submitting.", reasoning_content: "It works.", tool_calls: [call("call_2", "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT")] },
  { role: "tool", tool_call_id: "call_2", content: "COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT\n[exit code 0]" },
];

/** A Harbor agent's ATIF trajectory: its own system prompt, a tool call, a call to another tool, a final step without calls. */
export const HARBOR_ATIF = {
  schema_version: "ATIF-v1.5",
  session_id: "s-1",
  agent: {
    name: "terminus-2",
    version: "2.0.0",
    model_name: "gpt-5",
    tool_definitions: [{ type: "function", function: { name: "read_file", description: "Read a file.", parameters: { type: "object", properties: { path: { type: "string" } } } } }],
  },
  steps: [
    { step_id: 1, source: "system", message: "You are Terminus." },
    { step_id: 2, source: "user", message: "Fix the bug in /app." },
    {
      step_id: 3,
      source: "agent",
      message: "Listing.",
      reasoning_content: "Where is it?",
      model_name: "gpt-5",
      tool_calls: [
        { tool_call_id: "t1", function_name: "bash", arguments: { command: "ls /app" } },
        { tool_call_id: "t2", function_name: "read_file", arguments: { path: "/app/main.py" } },
      ],
      observation: { results: [{ source_call_id: "t1", content: "main.py" }, { source_call_id: "t2", content: [{ type: "text", text: "print(1)" }] }] },
    },
    { step_id: 4, source: "agent", message: [{ type: "text", text: "All done." }], observation: { results: [{ content: "$ " }] } },
  ],
};

export const HARBOR_SFT_MESSAGES = [
  { role: "system", content: SYSTEM_PROMPT },
  { role: "user", content: "Fix the bug in /app." },
  {
    role: "assistant",
    content: "Listing.",
    reasoning_content: "Where is it?",
    tool_calls: [
      { id: "t1", type: "function", function: { name: "bash", arguments: '{"command":"ls /app"}' } },
      { id: "t2", type: "function", function: { name: "read_file", arguments: '{"path":"/app/main.py"}' } },
    ],
  },
  { role: "tool", tool_call_id: "t1", content: "main.py" },
  { role: "tool", tool_call_id: "t2", content: "print(1)" },
  { role: "assistant", content: "All done." },
  { role: "user", content: "$ " },
];

export const HARBOR_SFT_TOOLS = [BASH_TOOL, HARBOR_ATIF.agent.tool_definitions[0]];

export interface TrialFixture {
  task: string;
  id: string;
  reward: number | null;
  /** agent/trajectory.json's content; omitted: no trajectory. */
  trajectory?: unknown;
}

/** A job directory: config.json and one trial dir per fixture (result.json, agent/trajectory.json). */
export function writeJob(trials: readonly TrialFixture[]): string {
  const job = tempDir("tmax-sft-job-");
  writeFileSync(join(job, "config.json"), JSON.stringify({ job_name: "sft-job" }));
  for (const t of trials) {
    const dir = join(job, `${t.task}__${t.id}`);
    mkdirSync(join(dir, "agent"), { recursive: true });
    const result = {
      task_name: t.task,
      trial_name: `${t.task}__${t.id}`,
      started_at: "2025-11-20T10:00:00.000000Z",
      finished_at: "2025-11-20T10:05:00.000000Z",
      verifier_result: t.reward === null ? null : { rewards: { reward: t.reward } },
    };
    writeFileSync(join(dir, "result.json"), JSON.stringify(result, null, 4));
    if (t.trajectory !== undefined) writeFileSync(join(dir, "agent", "trajectory.json"), JSON.stringify(t.trajectory, null, 2));
  }
  return job;
}

export function rollout(over: Partial<Rollout>): Rollout {
  return {
    taskName: "fix-the-build",
    groupId: "g-1",
    sampleIndex: 0,
    seed: 42,
    policyVersion: 3,
    promptIds: Int32Array.from([1, 2, 3]),
    responseIds: Int32Array.from([10, 11, 99, 20, 21, 12, 99]),
    lossMask: Uint8Array.from([1, 1, 1, 0, 0, 1, 1]),
    logprobs: Float32Array.from([-0.1, -0.2, -0.3, 0, 0, -0.4, -0.5]),
    turns: [
      { start: 0, end: 3, finishReason: "stop" },
      { start: 5, end: 7, finishReason: "stop" },
    ],
    promptText: "p",
    responseText: "r",
    reward: 1,
    ending: "submitted",
    error: null,
    timings: { startedAt: "2025-01-02T03:04:05.000Z", finishedAt: "2025-01-02T03:05:05.000Z", modelSec: 1, envSec: 1 },
    ...over,
  };
}

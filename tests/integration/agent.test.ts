import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { TmaxAgent } from "../../src/agent/tmax/tmax-agent.js";
import type { EpisodeEvent } from "../../src/agent/tmax/episode.js";
import { openProvider, type EngineProvider } from "../../src/environment/providers.js";
import { buildJobConfig, buildTrialConfig } from "../../src/job/config.js";
import { runOptions } from "../helpers/run-options.js";
import { loadTask, type Task } from "../../src/task/task.js";
import { runTrial } from "../../src/trial/trial.js";
import type { TrialResult } from "../../src/harbor/trial-schema.js";
import { REPO, runCli } from "../helpers/cli.js";
import { fakeTokens, startScriptedModel, toolMessages, type ScriptedModel, type Turn } from "../helpers/scripted-model.js";
import { tempDir, writeTask } from "../helpers/task-fixture.js";

const SUBMIT = "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT";
let provider: EngineProvider;
let task: Task;
const servers: ScriptedModel[] = [];

before(async () => {
  provider = await openProvider("podman");
  task = await loadTask(
    writeTask(tempDir(), "agent-probe", {
      instruction: "Create /app/done.\n",
      solveSh: null,
      files: { "solution/solve.sh": "#!/bin/bash\ntouch /app/done\n" },
    }),
  );
});
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await provider?.close();
});

interface Run {
  result: TrialResult;
  dir: string;
  server: ScriptedModel;
  events: EpisodeEvent[];
  file: (name: string) => unknown;
}

/** One trial of the tmax agent against a scripted model, in a real container. */
async function runAgent(turns: Turn[], kwargs: Record<string, unknown> = {}, t: Task = task): Promise<Run> {
  const server = await startScriptedModel(turns);
  servers.push(server);
  const events: EpisodeEvent[] = [];
  const agent = new TmaxAgent(
    { modelName: "scripted-model", kwargs: { base_url: server.url, retry_base_delay_sec: 0.01, ...kwargs }, env: {} },
    { onEvent: (e) => events.push(e) },
  );
  const jobDir = tempDir("tmax-agent-job-");
  const job = buildJobConfig(runOptions({ path: t.dir, agent: "tmax", model: "scripted-model", singleTask: true, jobName: "j", jobsDir: jobDir }));
  const config = buildTrialConfig(job, t, `${t.name}__x`, "job", null);
  const dir = join(jobDir, config.trial_name);
  const result = await runTrial({ task: t, config, source: null, dir }, { provider, agent });
  return { result, dir, server, events, file: (name) => JSON.parse(readFileSync(join(dir, "agent", name), "utf8")) };
}

describe("tmax agent in a real container", () => {
  test("persistent cwd and exported variables across commands; tests and solution are invisible", async () => {
    const run = await runAgent([
      { kind: "call", command: "cd /tmp && mkdir -p work && cd work && export GREETING='hi there' && LOCAL=unexported" },
      { kind: "call", command: 'pwd; echo "$GREETING|$LOCAL"' },
      { kind: "call", command: "ls /tests /solution" },
      { kind: "call", command: "touch /app/done" },
      { kind: "call", command: SUBMIT },
    ]);
    const obs = toolMessages(run.server.requests.at(-1)!);
    assert.equal(obs[1], "/tmp/work\nhi there|\n\n(exit_code=0)");
    assert.match(obs[2]!, /No such file or directory[\s\S]*\(exit_code=2\)$/);
    assert.equal(run.result.verifier_result?.rewards?.reward, 1);
    assert.equal(run.result.exception_info, null);
  });

  test("a command that never ends is killed at its timeout and the agent continues", async () => {
    const started = Date.now();
    const run = await runAgent(
      [{ kind: "call", command: "echo partial; sleep 600" }, { kind: "call", command: "touch /app/done && echo ok" }, { kind: "call", command: SUBMIT }],
      { command_timeout_sec: 2 },
    );
    assert.ok(Date.now() - started < 30_000);
    const obs = toolMessages(run.server.requests.at(-1)!);
    assert.equal(obs[0], "partial\n\nCommand timed out after 2s and was killed.\n\n(exit_code=124)");
    assert.equal(obs[1], "ok\n\n(exit_code=0)");
    assert.equal(run.result.verifier_result?.rewards?.reward, 1);
  });

  test("a flood of output is truncated without the orchestrator's memory growing with it", async () => {
    const rss0 = process.memoryUsage().rss;
    const run = await runAgent([{ kind: "call", command: "head -c 1000000000 /dev/zero | tr '\\0' a; echo; echo END" }, { kind: "call", command: SUBMIT }]);
    const grew = (process.memoryUsage().rss - rss0) / 1e6;
    const obs = toolMessages(run.server.requests.at(-1)!)[0]!;
    assert.ok(grew < 200, `RSS grew by ${grew.toFixed(0)} MB for 1 GB of output`);
    assert.ok(obs.includes("---- HEAD (5000 chars) ----\n" + "a".repeat(5000) + "\n"));
    assert.ok(obs.includes(`---- ${1_000_000_005 - 1 - 10_000} chars elided ----`), obs.slice(0, 600));
    assert.ok(obs.endsWith("a".repeat(4995) + "\nEND\n\n(exit_code=0)"));
  });

  test("tool calls written as Hermes JSON and as Qwen3-XML text are executed", async () => {
    const run = await runAgent([
      { kind: "text", content: 'I will create the file.</think>\n<tool_call>\n{"name": "bash", "arguments": {"command": "echo hermes > /tmp/h"}}\n</tool_call>' },
      {
        kind: "text",
        content: "Now the other one.\n<tool_call>\n<function=bash>\n<parameter=command>\ncat /tmp/h && touch /app/done\n</parameter>\n</function>\n</tool_call>",
      },
      { kind: "call", command: SUBMIT },
    ]);
    const last = run.server.requests.at(-1)!.body.messages;
    assert.deepEqual(toolMessages(run.server.requests.at(-1)!).slice(0, 2), ["(no output)\n\n(exit_code=0)", "hermes\n\n(exit_code=0)"]);
    const assistant = last.filter((m) => m.role === "assistant");
    assert.equal(assistant[0]!.content, "I will create the file.</think>", "reasoning kept, call text removed");
    assert.equal((assistant[0]!.tool_calls as { function: { name: string } }[])[0]!.function.name, "bash");
    assert.equal(run.result.verifier_result?.rewards?.reward, 1);
  });

  test("malformed calls get format-error feedback, count as steps, and 64 in a row stop the run (then it is verified)", async () => {
    const turns: Turn[] = [
      { kind: "text", content: "No call here." },
      { kind: "raw_calls", toolCalls: [{ id: "x", type: "function", function: { name: "python", arguments: '{"code": "1"}' } }] },
      { kind: "raw_calls", toolCalls: [{ id: "y", type: "function", function: { name: "bash", arguments: '{"command": ' } }] },
      { kind: "call", command: "echo valid" },
      ...Array.from({ length: 64 }, (): Turn => ({ kind: "text", content: "still no call" })),
    ];
    const run = await runAgent(turns, { max_steps: 100 });
    assert.equal(run.server.requests.length, 68, "stopped after 64 consecutive format errors");
    const msgs = run.file("chat-messages.json") as { role: string; content: string; tool_calls?: unknown }[];
    const feedback = msgs.filter((m) => m.role === "user" && m.content.startsWith("Format error: "));
    assert.equal(feedback.length, 67);
    assert.match(feedback[1]!.content, /only tool is "bash"/);
    assert.match(feedback[2]!.content, /not valid JSON/);
    const rejected = msgs[2]!;
    assert.equal(rejected.role, "assistant");
    assert.equal(rejected.tool_calls, undefined, "the rejected reply is kept without its tool calls");
    const timing = run.file("timing.json") as { step: number; format_error?: boolean; cmd?: string }[];
    assert.equal(timing.length, 68);
    assert.equal(timing.filter((t) => t.format_error).length, 67);
    assert.equal(timing[3]!.cmd, "echo valid");
    assert.equal((run.file("usage.json") as { exit_status: string }).exit_status, "format_errors");
    assert.equal(run.result.exception_info, null);
    assert.deepEqual(run.result.verifier_result?.rewards, { reward: 0 }, "the run is still verified");
  });

  test("64 steps at most", async () => {
    const busy = await runAgent(Array.from({ length: 70 }, (_, i): Turn => ({ kind: "call", command: `echo ${i}` })));
    assert.equal(busy.server.requests.length, 64);
    assert.equal((busy.file("usage.json") as { exit_status: string }).exit_status, "max_steps");
    assert.equal(busy.result.agent_result?.metadata?.steps, 64);
  });

  test("a context-window error ends the run quietly and the trial is verified", async () => {
    const run = await runAgent([
      { kind: "call", command: "touch /app/done" },
      { kind: "error", status: 400, message: "This model's maximum context length is 32768 tokens. However, you requested 40000 tokens." },
    ]);
    assert.equal(run.server.requests.length, 2);
    assert.equal(run.result.exception_info, null);
    assert.deepEqual(run.result.verifier_result?.rewards, { reward: 1 });
    assert.equal((run.file("usage.json") as { exit_status: string }).exit_status, "context_window");
  });

  test("401 stops the trial at once with a clear message; outputs are still written", async () => {
    const run = await runAgent([{ kind: "error", status: 401, message: "Incorrect API key provided" }]);
    assert.equal(run.server.requests.length, 1);
    assert.equal(run.result.exception_info?.exception_type, "AuthenticationError");
    assert.match(run.result.exception_info.exception_message, /401.*Incorrect API key/);
    assert.equal(run.result.verifier_result, null);
    assert.deepEqual((run.file("chat-messages.json") as unknown[]).length, 2);
    assert.equal((run.file("usage.json") as { exit_status: string }).exit_status, "error: AuthenticationError");
  });

  test("a 500 then a hung request are retried and the run completes", async () => {
    const run = await runAgent(
      [
        { kind: "error", status: 500, message: "boom" },
        { kind: "hang", ms: 4000 },
        { kind: "call", command: "touch /app/done" },
        { kind: "call", command: SUBMIT },
      ],
      { request_timeout_sec: 1 },
    );
    assert.equal(run.server.requests.length, 4);
    assert.equal(run.events.filter((e) => e.type === "retry").length, 2);
    assert.deepEqual(run.result.verifier_result?.rewards, { reward: 1 });
  });

  test("output files: trajectory, ATIF, timing, usage; token counts in agent_result", async () => {
    const run = await runAgent([{ kind: "call", command: "touch /app/done", content: "Creating it.", reasoning: "simple" }, { kind: "call", command: SUBMIT }]);
    const msgs = run.file("chat-messages.json") as { role: string }[];
    assert.deepEqual(msgs.map((m) => m.role), ["system", "user", "assistant", "tool", "assistant", "tool"]);
    const usage = run.file("usage.json") as Record<string, unknown>;
    assert.deepEqual(
      { ...usage },
      { prompt_tokens: 200, completion_tokens: 20, total_tokens: 220, reasoning_tokens: 6, cached_tokens: 80, cost_usd: null, max_steps: 64, exit_status: "submitted" },
    );
    const timing = run.file("timing.json") as { step: number; llm_s: number; bash_s: number; return_code: number; cmd: string }[];
    assert.deepEqual(timing.map((t) => [t.step, t.return_code, t.cmd]), [[1, 0, "touch /app/done"], [2, 0, SUBMIT]]);
    assert.ok(timing.every((t) => Number.isFinite(t.llm_s) && Number.isFinite(t.bash_s)));
    const atif = run.file("trajectory.json") as { schema_version: string; steps: Record<string, unknown>[]; final_metrics: Record<string, number> };
    assert.equal(atif.schema_version, "ATIF-v1.4");
    assert.deepEqual(atif.steps.map((s) => [s.step_id, s.source]), [[1, "system"], [2, "user"], [3, "agent"], [4, "agent"]]);
    const first = atif.steps[2]!;
    assert.equal(first.message, "Creating it.");
    assert.equal(first.reasoning_content, "simple");
    const call = (first.tool_calls as { tool_call_id: string; function_name: string; arguments: { command: string } }[])[0]!;
    assert.deepEqual(call.arguments, { command: "touch /app/done" });
    assert.equal((first.observation as { results: { source_call_id: string; content: string }[] }).results[0]!.source_call_id, call.tool_call_id);
    assert.equal(atif.final_metrics.total_prompt_tokens, 200);
    const ctx = run.result.agent_result!;
    assert.equal(ctx.n_input_tokens, 200);
    assert.equal(ctx.n_output_tokens, 20);
    assert.equal(ctx.n_cache_tokens, 80);
    assert.equal(run.result.agent_info.name, "tmax");
    assert.deepEqual(run.result.agent_info.model_info, { name: "scripted-model", provider: null });
    const events = run.events.map((e) => e.type);
    assert.deepEqual(events, ["model", "observation", "model", "observation", "done"]);
  });
});

describe("tmax agent: rollout details", () => {
  test("collect_rollout_details=true: per-turn token ids and logprobs in agent_result (as Harbor types them) and in ATIF", async () => {
    const run = await runAgent([{ kind: "call", command: "touch /app/done" }, { kind: "call", command: SUBMIT }], { collect_rollout_details: true });
    const reqs = run.server.requests;
    assert.ok(reqs.every((r) => r.body.return_token_ids === true && r.body.logprobs === true));
    const msgs = run.file("chat-messages.json") as { role: string }[];
    const assistants = msgs.filter((m) => m.role === "assistant") as unknown as Record<string, unknown>[];
    const expected = reqs.map((r, i) => fakeTokens(r.body, assistants[i]!));
    const onDisk = JSON.parse(readFileSync(join(run.dir, "result.json"), "utf8")) as { agent_result: { rollout_details: unknown } };
    assert.deepEqual(onDisk.agent_result.rollout_details, [
      {
        prompt_token_ids: expected.map((e) => e.promptIds),
        completion_token_ids: expected.map((e) => e.completionIds),
        logprobs: expected.map((e) => e.logprobs),
      },
    ]);
    const atif = run.file("trajectory.json") as { steps: { source: string; metrics?: { completion_token_ids?: number[] } }[] };
    assert.deepEqual(atif.steps.filter((s) => s.source === "agent").map((s) => s.metrics?.completion_token_ids), expected.map((e) => e.completionIds));
  });

  test("without the setting nothing is asked for and rollout_details stays null", async () => {
    const run = await runAgent([{ kind: "call", command: SUBMIT }]);
    assert.equal(run.server.requests[0]!.body.return_token_ids, undefined);
    assert.equal(run.result.agent_result?.rollout_details, null);
  });
});

describe("tmax run -a tmax (CLI)", () => {
  test("a scripted model solves an example task: reward 1, through every runner feature", async () => {
    const server = await startScriptedModel([
      { kind: "call", command: "cat /app/hello.txt 2>&1; ls /app", content: "Let me look around first." },
      { kind: "call", command: "cd /app && export GREETING='Hello, tmax!'" },
      { kind: "call", command: 'printf "%s\\n" "$GREETING" > hello.txt && cat hello.txt' },
      { kind: "call", command: SUBMIT },
    ]);
    servers.push(server);
    const jobs = tempDir("tmax-jobs-");
    const r = await runCli(
      ["run", "-p", join(REPO, "examples", "tasks", "hello-world"), "-a", "tmax", "-m", "openai/scripted-model", "-o", jobs, "--job-name", "agent", "--json"],
      { env: { OPENAI_BASE_URL: server.url, OPENAI_API_KEY: "sk-test-secret" } },
    );
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.mean, 1);
    assert.deepEqual(out.tokens, { input: 400, cache: 160, output: 40, cost_usd: null });
    assert.equal(server.requests[0]!.headers.authorization, "Bearer sk-test-secret");
    const firstUser = server.requests[0]!.body.messages[1]!.content!;
    assert.ok(firstUser.includes("Create the file `/app/hello.txt`"), "instruction reached the model");
    assert.ok(!firstUser.includes("canary"), "canary lines were stripped");
    const cfg = readFileSync(join(jobs, "agent", "config.json"), "utf8");
    assert.ok(!cfg.includes("sk-test-secret"), "the API key is not written to job files");
    const res = JSON.parse(readFileSync(join(jobs, "agent", "result.json"), "utf8"));
    assert.equal(Object.keys(res.stats.evals)[0], "tmax__scripted-model__adhoc");
  });

  test("tmax agent streams an ad-hoc run in a fresh container and keeps the trajectory", async () => {
    const server = await startScriptedModel([
      { kind: "call", command: "cd /tmp && export N=3 && seq $N", content: "Counting.", reasoning: "seq is simplest" },
      { kind: "call", command: "pwd; echo N=$N" },
      { kind: "call", command: SUBMIT },
    ]);
    servers.push(server);
    const jobs = tempDir("tmax-jobs-");
    const r = await runCli(["agent", "Count to three", "-m", "scripted-model", "--base-url", server.url, "-o", jobs, "--job-name", "adhoc-run"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /── step 1 /);
    assert.match(r.stdout, /│ seq is simplest/);
    assert.match(r.stdout, /\$ cd \/tmp && export N=3 && seq \$N\n1\n2\n3\n✓ exit 0/);
    assert.match(r.stdout, /\/tmp\nN=3\n✓ exit 0/);
    assert.match(r.stdout, /■ submitted after 3 step\(s\)/);
    assert.doesNotMatch(r.stdout, /reward:/, "ad-hoc runs are not verified");
    const messages = r.stdout.match(/messages: (\S+)/)![1]!;
    assert.equal((JSON.parse(readFileSync(messages, "utf8")) as unknown[]).length, 8);
    const trajectory = r.stdout.match(/trajectory: (\S+) \(ATIF\)/)![1]!;
    assert.equal((JSON.parse(readFileSync(trajectory, "utf8")) as { schema_version: string }).schema_version, "ATIF-v1.4");
    assert.equal(server.requests[0]!.body.messages[1]!.content!.includes("<task>\nCount to three\n</task>"), true);
  });

  test("tmax agent -p runs the task's verifier and prints the reward", async () => {
    const server = await startScriptedModel([{ kind: "call", command: "printf 'Hello, tmax!\\n' > /app/hello.txt" }, { kind: "call", command: SUBMIT }]);
    servers.push(server);
    const r = await runCli(["agent", "-p", join(REPO, "examples", "tasks", "hello-world"), "-m", "scripted-model", "--base-url", server.url, "-o", tempDir("tmax-jobs-"), "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => l.type), ["model", "observation", "model", "observation", "done", "result"]);
    assert.deepEqual(lines.at(-1).rewards, { reward: 1 });
  });

  test("bad agent settings fail fast with a clear message", async () => {
    const r = await runCli(["run", "-p", join(REPO, "examples", "tasks", "hello-world"), "-a", "tmax", "-m", "m", "--base-url", "http://127.0.0.1:9/v1", "--ak", "max_stepz=3", "-o", tempDir()]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown agent kwarg\(s\): max_stepz/);
    const noUrl = await runCli(["run", "-p", join(REPO, "examples", "tasks", "hello-world"), "-a", "tmax", "-m", "m", "-o", tempDir()], { env: { OPENAI_BASE_URL: "" } });
    assert.equal(noUrl.code, 2);
    assert.match(noUrl.stderr, /no model server given: pass --base-url/);
  });
});

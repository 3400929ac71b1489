import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { BASH_TOOL } from "../../src/agent/tmax/prompts.js";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/task-fixture.js";
import { makeTinyModel } from "../helpers/tiny-model.js";

/**
 * `tmax train sft` on the learner's tiny Qwen3: chat-format lines rendered with the model's template and token
 * lines as they are, packed, trained with the SFT loss step by step, the weights saved as a model dir.
 */

const call = (command: string): object => ({ id: "call_1", type: "function", function: { name: "bash", arguments: JSON.stringify({ command }) } });

function conversation(i: number): object {
  return {
    messages: [
      { role: "system", content: "You are a terminal agent." },
      { role: "user", content: `Create the file f${i}.txt` },
      { role: "assistant", content: "", tool_calls: [call(`touch f${i}.txt`)] },
      { role: "tool", tool_call_id: "call_1", content: "[exit code 0]" },
      { role: "assistant", content: "Done." },
    ],
    tools: [BASH_TOOL],
  };
}

test("tmax train sft: messages and token lines, epochs × batches of steps, the loss falls, the weights are saved", { timeout: 240_000 }, async () => {
  const model = makeTinyModel();
  const work = tempDir("tmax-train-sft-");
  const data = join(work, "sft.jsonl");
  const tokens = { input_ids: [151644, 872, 198, 9707, 151645, 198, 151644, 77091, 198, 9707, 151645], loss_mask: [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1] };
  writeFileSync(data, [...[0, 1, 2, 3, 4].map((i) => JSON.stringify(conversation(i))), JSON.stringify(tokens)].join("\n") + "\n");
  const out = join(work, "out");

  const run = await runCli(["train", "sft", data, "--model-dir", model, "--out", out, "--epochs", "3", "--batch-size", "3", "--lr", "1e-3", "--json"]);
  assert.equal(run.code, 0, run.stderr);
  const summary = JSON.parse(run.stdout) as { examples: number; steps: number; applied_steps: number; trained_tokens: number; first_loss: number; last_loss: number; checkpoint: string };
  assert.equal(summary.examples, 6);
  assert.equal(summary.steps, 6, "2 steps of 3 examples per epoch");
  assert.equal(summary.applied_steps, 6);
  assert.ok(summary.last_loss < summary.first_loss - 0.1, `loss ${summary.first_loss} → ${summary.last_loss}`);

  const metrics = readFileSync(join(out, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, number>);
  assert.deepEqual(metrics.map((m) => [m.step, m.epoch, m.weights_version]), [[1, 1, 1], [2, 1, 2], [3, 2, 3], [4, 2, 4], [5, 3, 5], [6, 3, 6]]);
  assert.equal(metrics.reduce((n, m) => n + m.tokens!, 0), summary.trained_tokens);
  assert.ok(!("kept_fraction" in metrics[0]!), "no RL statistics in SFT metrics");
  // Each epoch trains every example's mask-1 tokens once: the token line's 2, and the assistant turns of the 5
  // conversations (the same count every epoch, whatever the order).
  const perEpoch = [1, 2, 3].map((e) => metrics.filter((m) => m.epoch === e).reduce((n, m) => n + m.tokens!, 0));
  assert.equal(new Set(perEpoch).size, 1, `tokens per epoch ${perEpoch.join(", ")}`);
  assert.ok(perEpoch[0]! > 2 + 5 * 10, `tokens per epoch ${perEpoch[0]}`);

  assert.equal(summary.checkpoint, join(out, "step_6"));
  for (const file of ["model.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json"]) assert.ok(existsSync(join(summary.checkpoint, file)), file);
  assert.notDeepEqual(readFileSync(join(summary.checkpoint, "model.safetensors")), readFileSync(join(model, "model.safetensors")), "the weights changed");
});

test("tmax train sft: a malformed line is a usage error naming file and line, before the learner starts", { timeout: 60_000 }, async () => {
  const work = tempDir("tmax-train-sft-bad-");
  const data = join(work, "sft.jsonl");
  writeFileSync(data, `${JSON.stringify(conversation(0))}\n{"input_ids": [1, 2], "loss_mask": [1]}\n`);
  const run = await runCli(["train", "sft", data, "--model-dir", makeTinyModel(), "--out", join(work, "out")]);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /sft\.jsonl:2: 2 input_ids but 1 loss_mask values/);
  assert.equal(existsSync(join(work, "out", "metrics.jsonl")), false);
});

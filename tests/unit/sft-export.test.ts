import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { BASH_TOOL } from "../../src/agent/tmax/prompts.js";
import { withDecodedToolArguments } from "../../src/model/hf/chat-template.js";
import { loadHfTokenizer, type HfTokenizer } from "../../src/model/hf/hf-tokenizer.js";
import { writeQwen3TokenizerDir } from "../../src/model/hf/qwen3-model-dir.js";
import { writeRollouts } from "../../src/rl/rollout-store.js";
import { exportSft, SftFormatError, SftInputError, type SftExportOptions } from "../../src/rl/sft/sft-export.js";
import { tempDir } from "../helpers/task-fixture.js";
import { HARBOR_ATIF, HARBOR_SFT_MESSAGES, HARBOR_SFT_TOOLS, rollout, TMAX_SFT_MESSAGES, tmaxChat, writeJob } from "./sft-fixtures.js";

const messages: SftExportOptions = { format: "messages", minReward: 1, tokenizer: null };
const parse = (lines: string[]): Record<string, unknown>[] => lines.map((l) => JSON.parse(l) as Record<string, unknown>);

/** The decoded text of each run of mask-1 tokens. */
function maskedSpans(tok: HfTokenizer, ids: number[], mask: number[]): string[] {
  const spans: string[] = [];
  let run: number[] = [];
  for (let k = 0; k <= ids.length; k++) {
    if (k < ids.length && mask[k] === 1) run.push(ids[k]!);
    else if (run.length > 0) {
      spans.push(tok.decode(run, { skipSpecialTokens: false }));
      run = [];
    }
  }
  return spans;
}

describe("SFT export: messages", () => {
  test("a tmax job: each rewarded trial's chat trajectory as one line in the chat format, with the harness's tools", async () => {
    const job = writeJob([{ task: "fix-bug", id: "aaaaaaa", reward: 1, trajectory: tmaxChat() }]);
    const { lines, summary } = await exportSft([job], messages);
    assert.deepEqual(parse(lines), [
      {
        messages: TMAX_SFT_MESSAGES,
        tools: [BASH_TOOL],
        metadata: { task: "fix-bug", trial: "fix-bug__aaaaaaa", job: job.split("/").pop(), reward: 1, source: join(job, "fix-bug__aaaaaaa", "agent", "trajectory.json"), format: "tmax" },
      },
    ]);
    assert.deepEqual(summary, { found: 1, exported: 1, skipped_by_reward: 0, unreadable: [] });
  });

  test("a Harbor job with ATIF: the harness's system prompt, tool calls with JSON arguments, tool results by call id", async () => {
    const job = writeJob([{ task: "fix-bug", id: "bbbbbbb", reward: 1, trajectory: HARBOR_ATIF }]);
    const [line] = parse((await exportSft([job], messages)).lines);
    assert.deepEqual(line, {
      messages: HARBOR_SFT_MESSAGES,
      tools: HARBOR_SFT_TOOLS,
      metadata: { task: "fix-bug", trial: "fix-bug__bbbbbbb", job: job.split("/").pop(), reward: 1, source: join(job, "fix-bug__bbbbbbb", "agent", "trajectory.json"), format: "atif", agent: "terminus-2" },
    });
  });

  test("--min-reward: trials below it or without a reward are skipped; a rewarded trial without a trajectory is unreadable", async () => {
    const job = writeJob([
      { task: "a", id: "0000001", reward: 1, trajectory: tmaxChat() },
      { task: "a", id: "0000002", reward: 0, trajectory: tmaxChat() },
      { task: "b", id: "0000003", reward: 0.5, trajectory: HARBOR_ATIF },
      { task: "b", id: "0000004", reward: null, trajectory: tmaxChat() },
      { task: "c", id: "0000005", reward: 1 },
      { task: "c", id: "0000006", reward: 1, trajectory: { steps: [] } },
    ]);
    const strict = await exportSft([job], messages);
    assert.deepEqual(parse(strict.lines).map((l) => (l.metadata as { trial: string }).trial), ["a__0000001"]);
    assert.equal(strict.summary.found, 6);
    assert.equal(strict.summary.skipped_by_reward, 3);
    assert.deepEqual(
      strict.summary.unreadable.map((u) => [u.source.split("/").pop(), u.reason.replace(job, "<job>")]),
      [
        ["c__0000005", "no trajectory (agent/trajectory.json is missing)"],
        ["c__0000006", `<job>/c__0000006/agent/trajectory.json: neither an array of chat messages (tmax) nor an ATIF document (schema_version "ATIF-v1.x")`],
      ],
    );
    const loose = await exportSft([job], { ...messages, minReward: 0.5 });
    assert.deepEqual(parse(loose.lines).map((l) => [(l.metadata as { trial: string }).trial, (l.metadata as { reward: number }).reward]), [["a__0000001", 1], ["b__0000003", 0.5]]);
    assert.equal(loose.summary.skipped_by_reward, 2, "reward 0 and no reward");
  });

  test("bad inputs: a missing directory, a directory that is not a job, a rollout dir asked for as messages", async () => {
    const missing = join(tempDir("tmax-sft-"), "nope");
    await assert.rejects(exportSft([missing], messages), (err: Error) => err instanceof SftInputError && err.message === `${missing}: no such directory`);
    await assert.rejects(exportSft([tempDir("tmax-sft-empty-")], messages), /not a job directory \(no config\.json and no trial result\.json files\)/);
    const rollouts = tempDir("tmax-sft-rollouts-");
    await writeRollouts(rollouts, [rollout({})]);
    await assert.rejects(exportSft([rollouts], messages), (err: Error) => err instanceof SftFormatError && /holds token ids, not messages; export it with --format tokens/.test(err.message));
    await assert.rejects(exportSft([writeJob([])], { ...messages, format: "tokens" }), (err: Error) => err instanceof SftFormatError && /give --model-dir/.test(err.message));
  });
});

describe("SFT export: tokens", () => {
  let qwen3: HfTokenizer;
  let qwen35: HfTokenizer;
  before(async () => {
    qwen3 = await loadHfTokenizer(await writeQwen3TokenizerDir(tempDir("tmax-qwen3-"), "qwen3"));
    qwen35 = await loadHfTokenizer(await writeQwen3TokenizerDir(tempDir("tmax-qwen35-"), "qwen3.5-xml"));
  });

  test("a rollout dir: prompt + response ids, mask 0 on the prompt and the stored mask on the response; reward filter", async () => {
    const dir = tempDir("tmax-sft-rollouts-");
    const kept = rollout({ sampleIndex: 0 });
    await writeRollouts(dir, [kept, rollout({ sampleIndex: 1, reward: 0, ending: "max_steps" }), rollout({ sampleIndex: 2, reward: null, ending: "infra_error", error: "engine down" })]);
    const { lines, summary } = await exportSft([dir], { format: "tokens", minReward: 1, tokenizer: null });
    assert.deepEqual(parse(lines), [
      {
        input_ids: [1, 2, 3, 10, 11, 99, 20, 21, 12, 99],
        loss_mask: [0, 0, 0, 1, 1, 1, 0, 0, 1, 1],
        metadata: { task: "fix-the-build", group_id: "g-1", sample_index: 0, index: 0, reward: 1, ending: "submitted", source: dir, format: "rollout" },
      },
    ]);
    assert.deepEqual(summary, { found: 3, exported: 1, skipped_by_reward: 2, unreadable: [] });
  });

  test("a tmax trajectory with Qwen3's template: the mask-1 spans decode exactly to the assistant turns", async () => {
    const job = writeJob([{ task: "fix-bug", id: "aaaaaaa", reward: 1, trajectory: tmaxChat() }]);
    const [line] = parse((await exportSft([job], { format: "tokens", minReward: 1, tokenizer: qwen3 })).lines) as { input_ids: number[]; loss_mask: number[] }[];
    const ids = line!.input_ids;
    assert.equal(ids.length, line!.loss_mask.length);
    assert.deepEqual(maskedSpans(qwen3, ids, line!.loss_mask), [
      '<think>\nStart by listing.\n</think>\n\nI\'ll look first.\n<tool_call>\n{"name": "bash", "arguments": {"command": "ls /app"}}\n</tool_call><|im_end|>',
      '<think>\nIt works.\n</think>\n\nFixed; submitting.\n<tool_call>\n{"name": "bash", "arguments": {"command": "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"}}\n</tool_call><|im_end|>',
    ]);
    const template = withDecodedToolArguments(TMAX_SFT_MESSAGES);
    assert.deepEqual(ids, qwen3.promptIds(template, [BASH_TOOL], { addGenerationPrompt: false }), "ChatML boundaries are special tokens: the ids are the whole rendering's");
    const header = qwen3.encode("<|im_start|>assistant\n", { addSpecialTokens: false });
    const firstTurn = line!.loss_mask.indexOf(1);
    assert.deepEqual(ids.slice(firstTurn - header.length, firstTurn), header, "the assistant header before a turn is mask 0");
  });

  test("an ATIF trajectory with tmax's Qwen3.5 template: the forced <think> is the prompt's, the rest of each turn is trained", async () => {
    const job = writeJob([{ task: "fix-bug", id: "bbbbbbb", reward: 1, trajectory: HARBOR_ATIF }]);
    const [line] = parse((await exportSft([job], { format: "tokens", minReward: 1, tokenizer: qwen35 })).lines) as { input_ids: number[]; loss_mask: number[] }[];
    const spans = maskedSpans(qwen35, line!.input_ids, line!.loss_mask);
    assert.equal(spans.length, 2);
    assert.equal(
      spans[0],
      "Where is it?\n</think>\n\nListing.\n\n<tool_call>\n<function=bash>\n<parameter=command>\nls /app\n</parameter>\n</function>\n</tool_call>\n<tool_call>\n<function=read_file>\n<parameter=path>\n/app/main.py\n</parameter>\n</function>\n</tool_call><|im_end|>",
    );
    assert.match(spans[1]!, /All done\.<\|im_end\|>$/);
    const text = qwen35.decode(line!.input_ids, { skipSpecialTokens: false });
    const template = withDecodedToolArguments(HARBOR_SFT_MESSAGES);
    assert.equal(text, qwen35.renderPrompt(template, HARBOR_SFT_TOOLS as typeof BASH_TOOL[], { addGenerationPrompt: false }), "the ids decode to the whole rendering");
  });

  test("a template that renders the last assistant turn differently (Qwen3 without reasoning): every turn as the whole rendering has it", async () => {
    const job = writeJob([{ task: "fix-bug", id: "ccccccc", reward: 1, trajectory: tmaxChat(false) }]);
    const { lines, summary } = await exportSft([job], { format: "tokens", minReward: 1, tokenizer: qwen3 });
    assert.deepEqual(summary.unreadable, []);
    const [line] = parse(lines) as { input_ids: number[]; loss_mask: number[] }[];
    // Rendered on its own, a turn that is the conversation's last would get an empty <think></think>; in the whole
    // conversation neither turn is last, and neither has one.
    assert.deepEqual(maskedSpans(qwen3, line!.input_ids, line!.loss_mask), [
      'I\'ll look first.\n<tool_call>\n{"name": "bash", "arguments": {"command": "ls /app"}}\n</tool_call><|im_end|>',
      'Fixed; submitting.\n<tool_call>\n{"name": "bash", "arguments": {"command": "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"}}\n</tool_call><|im_end|>',
    ]);
    const conversation = withDecodedToolArguments(parse((await exportSft([job], { format: "messages", minReward: 1, tokenizer: null })).lines)[0]!.messages as typeof TMAX_SFT_MESSAGES);
    assert.deepEqual(line!.input_ids, qwen3.promptIds(conversation, [BASH_TOOL], { addGenerationPrompt: false }), "the ids are the whole rendering's");
  });

  test("a template whose generation prompt is not a prefix of the whole rendering is reported, not guessed", async () => {
    const job = writeJob([{ task: "fix-bug", id: "ddddddd", reward: 1, trajectory: tmaxChat() }]);
    // A template that numbers the assistant turns from the end: the prompt of turn 1 differs once turn 2 exists.
    const dir = await writeQwen3TokenizerDir(tempDir("tmax-counting-"), "qwen3");
    writeFileSync(join(dir, "chat_template.jinja"), "{% for m in messages %}<|im_start|>{{ m.role }}{% if m.role == 'assistant' %} {{ messages|length - loop.index0 }}{% endif %}\n{{ m.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant 0\n{% endif %}");
    const { lines, summary } = await exportSft([job], { format: "tokens", minReward: 1, tokenizer: await loadHfTokenizer(dir) });
    assert.deepEqual(lines, []);
    assert.match(summary.unreadable[0]!.reason, /does not render the prompt of message 2 \(assistant\) as a prefix of the whole conversation/);
  });
});

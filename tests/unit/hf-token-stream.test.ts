// The RL token stream of rl.md §5 (prompt ids, sampled ids ending in <|im_end|>, wrapped observations tokenized
// without special-token insertion, …) against re-renders of the same conversation with the chat template.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { BASH_TOOL, SYSTEM_PROMPT, instanceMessage } from "../../src/agent/tmax/prompts.js";
import { type TemplateMessage } from "../../src/model/hf/chat-template.js";
import { loadHfTokenizer, type HfTokenizer } from "../../src/model/hf/hf-tokenizer.js";
import { wrapObservations, type ToolCallFormat } from "../../src/model/hf/observation-wrap.js";
import { writeQwen3TokenizerDir } from "../../src/model/hf/qwen3-model-dir.js";
import { splitReasoning, stripToolCallText, textToolCalls } from "../../src/model/tool-calls.js";

const PROMPT: TemplateMessage[] = [
  { role: "system", content: SYSTEM_PROMPT },
  { role: "user", content: instanceMessage("Make the tests in /app pass.") },
];
const TOOLS = [BASH_TOOL];

/** One model turn: the text it samples (without the final <|im_end|>) and the observations of its calls. */
interface Turn {
  sampled: string;
  observations: string[];
}

const xmlCall = (command: string) => `<tool_call>\n<function=bash>\n<parameter=command>\n${command}\n</parameter>\n</function>\n</tool_call>`;
// Qwen3's template writes arguments with tojson, i.e. Python's json.dumps separators (", " and ": ").
const hermesCall = (command: string) => `<tool_call>\n{"name": "bash", "arguments": {"command": ${JSON.stringify(command)}}}\n</tool_call>`;

/** Qwen3.5 turns: the opening <think>\n is prompt-side, so the samples start inside the reasoning. */
const XML_TURNS: Turn[] = [
  { sampled: `Explore first.\n</think>\n\nListing the app.\n\n${xmlCall("ls -la /app")}`, observations: ["main.py\ntests\n\n(exit_code=0)"] },
  {
    sampled: `Two reads at once.\n</think>\n\nReading both.\n\n${xmlCall("cat -n /app/main.py")}\n${xmlCall("cat <<'EOF' > /tmp/t.txt\nline  \n\nEOF")}`,
    observations: ["     1\tdef add(a, b):\n     2\t    return a - b\n\n(exit_code=0)", "(no output)\n\n(exit_code=0)"],
  },
  { sampled: `Fix the sign; unicode ✓ 修复.\n</think>\n\n${xmlCall("sed -i 's/a - b/a + b/' /app/main.py")}`, observations: ["(no output)\n\n(exit_code=0)"] },
  { sampled: `Submit.\n</think>\n\nDone.\n\n${xmlCall("echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT")}`, observations: ["COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT\n\n(exit_code=0)"] },
];

/** Qwen3 (Hermes) turns: the model opens its own <think> block. */
const HERMES_TURNS: Turn[] = [
  { sampled: `<think>\nExplore first.\n</think>\n\nListing the app.\n${hermesCall("ls -la /app")}`, observations: ["main.py\ntests\n\n(exit_code=0)"] },
  {
    sampled: `<think>\nTwo reads at once.\n</think>\n\nReading both.\n${hermesCall("cat -n /app/main.py")}\n${hermesCall("head -1 /app/tests/test_main.py")}`,
    observations: ["     1\tdef add(a, b):\n     2\t    return a - b\n\n(exit_code=0)", "import main\n\n(exit_code=0)"],
  },
  { sampled: `<think>\nSubmit.\n</think>\n\nDone.\n${hermesCall("echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT")}`, observations: ["COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT\n\n(exit_code=0)"] },
];

interface Stream {
  /** The prompt ids of each completion request, in order. */
  prompts: number[][];
  /** Every token of the trajectory, prompt first. */
  ids: number[];
  /** 1 on sampled tokens, 0 on prompt and observation tokens. */
  mask: number[];
  /** Indexes in `ids` of the <|im_end|> that end the model's turns. */
  turnEnds: number[];
}

/** Builds the token stream the way rl.md §5 does, the model "sampling" the given texts. */
function simulateStream(tokenizer: HfTokenizer, format: ToolCallFormat, turns: readonly Turn[]): Stream {
  const ids = tokenizer.promptIds(PROMPT, TOOLS, { addGenerationPrompt: true });
  const stream: Stream = { prompts: [], ids, mask: ids.map(() => 0), turnEnds: [] };
  for (const turn of turns) {
    stream.prompts.push([...ids]);
    const sampled = [...tokenizer.encode(turn.sampled, { addSpecialTokens: false }), tokenizer.eosTokenId];
    ids.push(...sampled);
    stream.mask.push(...sampled.map(() => 1));
    stream.turnEnds.push(ids.length - 1);
    const observed = tokenizer.encode(wrapObservations(format, turn.observations), { addSpecialTokens: false });
    ids.push(...observed);
    stream.mask.push(...observed.map(() => 0));
  }
  return stream;
}

/** The conversation as an agent stores it: each sampled text parsed into reasoning, text and tool calls. */
function conversation(turns: readonly Turn[]): TemplateMessage[][] {
  const prefixes: TemplateMessage[][] = [[...PROMPT]];
  const messages = [...PROMPT];
  turns.forEach((turn, t) => {
    const calls = textToolCalls(turn.sampled);
    assert.equal(calls.length, turn.observations.length, "one observation per call");
    const { reasoning, text } = splitReasoning({ role: "assistant", content: stripToolCallText(turn.sampled) });
    const toolCalls = calls.map((c, i) => ({ id: `call_${t}_${i}`, type: "function", function: { name: c.name, arguments: c.args } }));
    messages.push({ role: "assistant", content: text, reasoning_content: reasoning ?? "", tool_calls: toolCalls });
    turn.observations.forEach((o, i) => messages.push({ role: "tool", tool_call_id: `call_${t}_${i}`, content: o }));
    prefixes.push([...messages]);
  });
  return prefixes;
}

/** `ids` with `token` inserted after each of the given positions. */
function insertAfter(ids: readonly number[], positions: readonly number[], token: number): number[] {
  const at = new Set(positions);
  return ids.flatMap((id, i) => (at.has(i) ? [id, token] : [id]));
}

const isPrefix = (a: readonly number[], b: readonly number[]) => a.length <= b.length && a.every((id, i) => id === b[i]);

describe("RL token stream and chat-template re-renders", () => {
  const root = mkdtempSync(path.join(tmpdir(), "tmax-hf-stream-"));
  after(() => rmSync(root, { recursive: true, force: true }));
  let xml: HfTokenizer;
  let hermes: HfTokenizer;
  let newline: number;

  before(async () => {
    xml = await loadHfTokenizer(await writeQwen3TokenizerDir(path.join(root, "xml"), "qwen3.5-xml"));
    hermes = await loadHfTokenizer(await writeQwen3TokenizerDir(path.join(root, "hermes"), "qwen3"));
    newline = xml.tokenId("Ċ")!; // "\n" in byte-level BPE
    assert.deepEqual(xml.encode("\n", { addSpecialTokens: false }), [newline]);
  });

  test("each turn's prompt ids are a prefix of the next turn's and of the whole trajectory", () => {
    for (const [tokenizer, format, turns] of [[xml, "qwen3_xml", XML_TURNS], [hermes, "hermes", HERMES_TURNS]] as const) {
      const stream = simulateStream(tokenizer, format, turns);
      assert.equal(stream.prompts.length, turns.length);
      for (let k = 0; k + 1 < stream.prompts.length; k++) assert.ok(isPrefix(stream.prompts[k]!, stream.prompts[k + 1]!), `${format} turn ${k}`);
      assert.ok(isPrefix(stream.prompts.at(-1)!, stream.ids));
      assert.deepEqual(stream.prompts[0], tokenizer.promptIds(PROMPT, TOOLS, { addGenerationPrompt: true }), "the first prompt is the templated [system, user]");
      // The stream is the canonical tokenization of its own text: re-tokenizing the decoded trajectory gives it back.
      assert.deepEqual(tokenizer.encode(tokenizer.decode(stream.ids, { skipSpecialTokens: false }), { addSpecialTokens: false }), stream.ids, format);
    }
  });

  test("qwen3_xml: the stream equals the template's re-render except for the \\n after each model <|im_end|>", () => {
    const stream = simulateStream(xml, "qwen3_xml", XML_TURNS);
    const prefixes = conversation(XML_TURNS);
    // At every request, and for the finished trajectory: the re-render has exactly one "\n" token more per
    // finished model turn, right after its <|im_end|>, and no other difference.
    for (let k = 0; k <= XML_TURNS.length; k++) {
      const streamIds = k < XML_TURNS.length ? stream.prompts[k]! : stream.ids;
      const ends = stream.turnEnds.slice(0, k);
      const rerender = xml.promptIds(prefixes[k]!, TOOLS, { addGenerationPrompt: true });
      assert.deepEqual(rerender, insertAfter(streamIds, ends, newline), `after ${k} turns`);
      assert.equal(rerender.length - streamIds.length, k);
    }
    const text = xml.decode(stream.ids, { skipSpecialTokens: false });
    assert.equal(text.split("<|im_end|><|im_start|>").length - 1, XML_TURNS.length, "each model turn is followed directly by the next turn");
  });

  test("qwen3_xml: the forced <think>\\n opens every assistant turn prompt-side (mask 0); sampled tokens end in <|im_end|>", () => {
    const stream = simulateStream(xml, "qwen3_xml", XML_TURNS);
    const opener = xml.encode("<|im_start|>assistant\n<think>\n", { addSpecialTokens: false });
    let starts = 0;
    stream.mask.forEach((m, i) => {
      if (m === 1 && stream.mask[i - 1] === 0) {
        starts += 1;
        assert.deepEqual(stream.ids.slice(i - opener.length, i), opener, `turn starting at ${i}`);
        assert.ok(stream.mask.slice(i - opener.length, i).every((v) => v === 0));
      }
    });
    assert.equal(starts, XML_TURNS.length);
    for (const end of stream.turnEnds) {
      assert.equal(stream.ids[end], xml.tokenId("<|im_end|>"));
      assert.equal(stream.mask[end], 1, "the final <|im_end|> is the model's");
      assert.equal(stream.mask[end + 1], 0);
    }
  });

  test("hermes: the stream equals Qwen3's re-render but for the \\n after model turns and the tool turns' form", () => {
    const stream = simulateStream(hermes, "hermes", HERMES_TURNS);
    const prefixes = conversation(HERMES_TURNS);
    // Qwen3's template puts consecutive tool results in one user turn, "<tool_response>" blocks joined by "\n",
    // with no "\n" before its <|im_end|>; the stream gives each result its own tool-role turn (rl.md §5).
    const toStreamForm = (rendered: string) =>
      rendered
        .replace(/(<\|im_start\|>assistant\n(?:(?!<\|im_start\|>)[\s\S])*?<\|im_end\|>)\n/g, "$1")
        .replace(/<\|im_start\|>user((?:\n<tool_response>\n[\s\S]*?\n<\/tool_response>)+)<\|im_end\|>\n/g, (_, blocks: string) =>
          blocks
            .split(/\n(?=<tool_response>\n)/)
            .filter(Boolean)
            .map((b) => `<|im_start|>tool\n${b}\n<|im_end|>\n`)
            .join(""),
        );
    for (let k = 0; k <= HERMES_TURNS.length; k++) {
      const streamIds = k < HERMES_TURNS.length ? stream.prompts[k]! : stream.ids;
      const rendered = hermes.renderPrompt(prefixes[k]!, TOOLS, { addGenerationPrompt: true });
      const expected = toStreamForm(rendered);
      assert.equal(hermes.decode(streamIds, { skipSpecialTokens: false }), expected, `after ${k} turns`);
      assert.deepEqual(hermes.encode(expected, { addSpecialTokens: false }), streamIds, `after ${k} turns`);
      if (k > 0) assert.notEqual(rendered, expected, "the two forms differ once a turn is done");
    }
  });

  test("empty reasoning: same text as the re-render, but the forced <think>\\n splits the newlines into other tokens", () => {
    // The learner must train on the stream's own ids: re-tokenizing the text would merge "\n" + "\n" into "\n\n".
    const turn: Turn = { sampled: `\n</think>\n\n${xmlCall("ls")}`, observations: ["a\n\n(exit_code=0)"] };
    const stream = simulateStream(xml, "qwen3_xml", [turn]);
    const rerender = xml.promptIds(conversation([turn])[1]!, TOOLS, { addGenerationPrompt: true });
    const fromStream = insertAfter(stream.ids, stream.turnEnds, newline);
    assert.equal(xml.decode(fromStream, { skipSpecialTokens: false }), xml.decode(rerender, { skipSpecialTokens: false }));
    const doubleNewline = xml.encode("\n\n", { addSpecialTokens: false });
    assert.equal(doubleNewline.length, 1);
    const thinkOpen = xml.tokenId("<think>")!;
    const at = stream.prompts[0]!.length - 1;
    assert.deepEqual(fromStream.slice(at - 1, at + 3), [thinkOpen, newline, newline, xml.tokenId("</think>")!], "stream: <think> \\n | \\n </think>");
    assert.deepEqual(rerender.slice(at - 1, at + 2), [thinkOpen, doubleNewline[0]!, xml.tokenId("</think>")!], "re-render: <think> \\n\\n </think>");
    assert.equal(rerender.length, fromStream.length - 1);
  });
});

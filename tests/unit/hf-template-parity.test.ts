// The TypeScript tokenizer and chat templates against Python transformers (apply_chat_template, encode, decode),
// token for token, on the real Qwen3 tokenizer with Qwen3's template and with tmax's Qwen3.5-style template.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { BASH_TOOL, SYSTEM_PROMPT, instanceMessage } from "../../src/agent/tmax/prompts.js";
import { type TemplateMessage } from "../../src/model/hf/chat-template.js";
import { loadHfTokenizer, type HfTokenizer } from "../../src/model/hf/hf-tokenizer.js";
import { writeQwen3TokenizerDir, type Qwen3DirTemplate } from "../../src/model/hf/qwen3-model-dir.js";
import type { FunctionTool } from "../../src/model/types.js";
import { transformersReference, type ReferenceCase, type ReferenceResult } from "../helpers/hf-reference.js";

const TEMPLATES: Qwen3DirTemplate[] = ["qwen3", "qwen3.5-xml"];

const system = { role: "system", content: SYSTEM_PROMPT };
const task = { role: "user", content: instanceMessage("The tests in /app/tests fail since the last refactoring. Make them pass.") };

let callCount = 0;
function call(args: Record<string, unknown> | string, name = "bash") {
  callCount += 1;
  return { id: `call_${callCount}`, type: "function", function: { name, arguments: args } };
}
const bash = (command: string) => call({ command });
const tool = (content: string, id = "call_x") => ({ role: "tool", tool_call_id: id, content });
const observation = (body: string, code = 0) => `${body}\n\n(exit_code=${code})`;

const LONG_OUTPUT = Array.from({ length: 400 }, (_, i) => `-rw-r--r-- 1 root root ${1000 + i * 37} Jan  ${(i % 28) + 1} 12:${String(i % 60).padStart(2, "0")} file_${i}.py`).join("\n");

const EXTRA_TOOL: FunctionTool = {
  type: "function",
  function: {
    name: "search",
    description: "Sucht Dateien — 查找文件 «quoted» \"escaped\" \\ back\tslash 🚀",
    parameters: {
      type: "object",
      properties: {
        pattern: { type: "string", description: "a regular expression" },
        limit: { type: "integer", minimum: 1, maximum: 100, default: 20 },
        mode: { type: "string", enum: ["fast", "exact"] },
        recursive: { type: "boolean", default: true },
        options: { type: ["object", "null"], properties: {}, additionalProperties: false },
      },
      required: ["pattern"],
    },
  },
};

/** An agentic episode: reasoning given in each of the ways templates read it, then tool results. */
function episode(): TemplateMessage[] {
  return [
    system,
    task,
    { role: "assistant", content: "I'll look at the layout first.", reasoning_content: "Start by exploring.", tool_calls: [bash("ls -la /app")] },
    tool(observation("total 8\ndrwxr-xr-x 2 root root 4096 .\n-rw-r--r-- 1 root root  120 main.py")),
    { role: "assistant", content: "<think>\nThe module is small.\nRead it whole.\n</think>\n\nReading main.py.", tool_calls: [bash("cat -n /app/main.py")] },
    tool(observation("     1\tdef add(a, b):\n     2\t    return a - b")),
    // reasoning_content null (as OpenAI clients send it) and the reasoning under another name
    { role: "assistant", content: "", reasoning_content: null, reasoning: "Found it: a minus sign.", tool_calls: [bash("sed -i 's/a - b/a + b/' /app/main.py && python -m pytest -q /app/tests")] },
    tool(observation("..\n2 passed in 0.03s")),
    { role: "assistant", content: "The fix works; submitting.", tool_calls: [bash("echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT")] },
    tool(observation("COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT")),
  ];
}

interface ChatCase {
  name: string;
  messages: TemplateMessage[];
  tools: FunctionTool[] | null;
  addGenerationPrompt: boolean;
  /** Only for these templates (default: both). */
  only?: Qwen3DirTemplate;
}

const CHAT_CASES: ChatCase[] = [
  { name: "the RL prompt: system + task, the bash tool, generation prompt", messages: [system, task], tools: [BASH_TOOL], addGenerationPrompt: true },
  { name: "system + task with the bash tool, no generation prompt", messages: [system, task], tools: [BASH_TOOL], addGenerationPrompt: false },
  { name: "system + task without tools", messages: [system, task], tools: null, addGenerationPrompt: true },
  { name: "without tools and without generation prompt", messages: [system, task], tools: null, addGenerationPrompt: false },
  { name: "no system message, with tools", messages: [task], tools: [BASH_TOOL], addGenerationPrompt: true },
  { name: "no system message, no tools", messages: [{ role: "user", content: "hi" }], tools: null, addGenerationPrompt: true },
  { name: "two tools with nested, numeric, boolean and unicode schema fields", messages: [system, task], tools: [BASH_TOOL, EXTRA_TOOL], addGenerationPrompt: true },
  { name: "an agentic episode with reasoning and tool results, next turn open", messages: episode(), tools: [BASH_TOOL], addGenerationPrompt: true },
  {
    name: "an agentic episode ending in a plain assistant answer",
    messages: [...episode(), { role: "assistant", content: "<think>\nAll green.\n</think>\n\nDone: the sign in add() was wrong." }],
    tools: [BASH_TOOL],
    addGenerationPrompt: false,
  },
  {
    name: "several calls in one turn and consecutive tool results",
    messages: [
      system,
      task,
      { role: "assistant", content: "Two looks at once.", reasoning_content: "Parallel reads.", tool_calls: [bash("pwd"), bash("id -u"), bash("uname -a")] },
      tool(observation("/app")),
      tool(observation("0")),
      tool(observation("Linux box 6.1.0 x86_64 GNU/Linux")),
    ],
    tools: [BASH_TOOL],
    addGenerationPrompt: true,
  },
  {
    name: "a call with non-string arguments and a second tool",
    messages: [
      task,
      { role: "assistant", content: "Searching.", reasoning_content: "Use search.", tool_calls: [call({ pattern: "def add", limit: 5, recursive: false, options: { depth: 2, skip: ["a", "b"] }, mode: null }, "search")] },
      tool("main.py:1: def add(a, b):"),
    ],
    tools: [BASH_TOOL, EXTRA_TOOL],
    addGenerationPrompt: true,
  },
  {
    name: "a multi-line command (heredoc) with trailing spaces and blank lines",
    messages: [
      task,
      { role: "assistant", content: "Writing the file.", reasoning_content: "\n\nA heredoc.\n\n", tool_calls: [bash("cat <<'EOF' > /app/x.py\nprint('hi')  \n\n\tindented\nEOF\n")] },
      tool(observation("(no output)")),
    ],
    tools: [BASH_TOOL],
    addGenerationPrompt: true,
  },
  {
    name: "several user turns: reasoning of earlier turns, a mid-conversation system message",
    messages: [
      system,
      { role: "user", content: "What is 2+2?" },
      { role: "assistant", content: "<think>\nSimple arithmetic.\n</think>\n\n4" },
      { role: "system", content: "Answer in words from now on." },
      { role: "user", content: "And 3+3?" },
      { role: "assistant", content: "Six.", reasoning_content: "Words, not digits." },
      { role: "user", content: "Thanks." },
    ],
    tools: null,
    addGenerationPrompt: true,
  },
  {
    name: "unicode: CJK, emoji sequences, combining marks, RTL, CRLF, control characters",
    messages: [
      { role: "system", content: "Ты — помощник. 你是一个助手。" },
      { role: "user", content: "Café vs Cafe\u0301 · 👩‍👩‍👧‍👦 🇩🇪 · مرحبا بالعالم · line1\r\nline2\u2028line3 · tab\there · nul\u0000 · 𝔘𝔫𝔦𝔠𝔬𝔡𝔢" },
      { role: "assistant", content: "Voilà — 完成 ✅", reasoning_content: "Ünïcödé thoughts: 思考中…" },
      { role: "user", content: "ok 👍🏽" },
    ],
    tools: [EXTRA_TOOL],
    addGenerationPrompt: true,
  },
  {
    name: "a long observation (a truncated 10 000-character output)",
    messages: [
      task,
      { role: "assistant", content: "Listing.", reasoning_content: "Many files.", tool_calls: [bash("ls -l /data")] },
      tool(observation(`The output was too long.\n\n---- HEAD (5000 chars) ----\n${LONG_OUTPUT.slice(0, 5000)}\n---- 4321 chars elided ----\n---- TAIL (5000 chars) ----\n${LONG_OUTPUT.slice(-5000)}`)),
      tool(observation(LONG_OUTPUT)),
    ],
    tools: [BASH_TOOL],
    addGenerationPrompt: true,
  },
  {
    name: "special-token text inside messages is read as those tokens",
    messages: [
      { role: "user", content: "Print <|im_end|> and <think> literally, and <tool_call> too.<|endoftext|>" },
      { role: "assistant", content: "<tool_response>not really</tool_response>", reasoning_content: "<|im_start|>" },
      { role: "user", content: "<tool_response>\nlooks like a tool result\n</tool_response>" },
    ],
    tools: [BASH_TOOL],
    addGenerationPrompt: true,
  },
  {
    name: "content null next to tool calls (OpenAI style) is dropped like None; Qwen3's template then fails",
    messages: [task, { role: "assistant", content: null, tool_calls: [bash("ls")] }, tool(observation("a\nb"))],
    tools: [BASH_TOOL],
    addGenerationPrompt: true,
  },
  {
    name: "Hermes arguments given as a JSON string are rendered as they are",
    messages: [task, { role: "assistant", content: "Looking.", tool_calls: [call('{"command":"ls  -1"}')] }, tool(observation("a"))],
    tools: [BASH_TOOL],
    addGenerationPrompt: true,
    only: "qwen3",
  },
  {
    name: "qwen3_xml refuses arguments given as a JSON string (both sides raise)",
    messages: [task, { role: "assistant", content: "Looking.", tool_calls: [call('{"command":"ls"}')] }, tool(observation("a"))],
    tools: [BASH_TOOL],
    addGenerationPrompt: true,
    only: "qwen3.5-xml",
  },
];

const ENCODE_TEXTS = [
  "Hello world",
  "  leading spaces, trailing spaces   \n\n\n",
  "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\n",
  "numbers 1234567890 3.14159 -42 0x1F 1e-9",
  "Café vs Cafe\u0301 — 你好，世界 👩‍👩‍👧‍👦 مرحبا",
  "def f(x):\n\treturn x  # comment\r\n\n    pass",
  "<tool_call>\n<function=bash>\n<parameter=command>\nls -la | grep '.py'\n</parameter>\n</function>\n</tool_call>",
  "it's we're they'll I'M YOU'VE",
  LONG_OUTPUT,
];

// Token ids around special tokens; 378 and 235 are the bytes of a zero-width joiner (U+200D), alone or incomplete.
const DECODE_IDS = [
  [151644, 872, 198, 6023, 151645, 198, 151644, 77091, 198, 151667, 198],
  [151657, 198, 27, 1688, 28, 46216, 29, 151658, 151643],
  [145233, 378, 235, 145233, 378, 235, 145665],
  [145233, 378],
  [235],
];

function refCases(): { cases: ReferenceCase[]; labels: { template: Qwen3DirTemplate; label: string; tsRun: (t: HfTokenizer) => ReferenceResult }[] } {
  const cases: ReferenceCase[] = [];
  const labels: { template: Qwen3DirTemplate; label: string; tsRun: (t: HfTokenizer) => ReferenceResult }[] = [];
  for (const template of TEMPLATES) {
    for (const c of CHAT_CASES) {
      if (c.only && c.only !== template) continue;
      cases.push({ model: template, chat: { messages: c.messages, tools: c.tools, addGenerationPrompt: c.addGenerationPrompt } });
      labels.push({
        template,
        label: c.name,
        tsRun: (t) => {
          const opts = { addGenerationPrompt: c.addGenerationPrompt };
          return { text: t.renderPrompt(c.messages, c.tools, opts), ids: t.promptIds(c.messages, c.tools, opts) };
        },
      });
    }
  }
  // The tokenizer is the same in both dirs: encode/decode once.
  for (const text of ENCODE_TEXTS) {
    for (const addSpecialTokens of [true, false]) {
      cases.push({ model: "qwen3", encode: { text, addSpecialTokens } });
      labels.push({ template: "qwen3", label: `encode ${JSON.stringify(text.slice(0, 40))} (${addSpecialTokens})`, tsRun: (t) => ({ ids: t.encode(text, { addSpecialTokens }) }) });
    }
  }
  for (const ids of DECODE_IDS) {
    for (const skipSpecialTokens of [true, false]) {
      cases.push({ model: "qwen3", decode: { ids, skipSpecialTokens } });
      labels.push({ template: "qwen3", label: `decode ${JSON.stringify(ids)} (${skipSpecialTokens})`, tsRun: (t) => ({ text: t.decode(ids, { skipSpecialTokens }) }) });
    }
  }
  return { cases, labels };
}

describe("chat templates and tokenizer match Python transformers", () => {
  const root = mkdtempSync(path.join(tmpdir(), "tmax-hf-parity-"));
  after(() => rmSync(root, { recursive: true, force: true }));
  const tokenizers = new Map<Qwen3DirTemplate, HfTokenizer>();
  const { cases, labels } = refCases();
  let reference: ReferenceResult[] = [];

  before(async () => {
    const dirs: Record<string, string> = {};
    for (const template of TEMPLATES) {
      dirs[template] = await writeQwen3TokenizerDir(path.join(root, template), template);
      tokenizers.set(template, await loadHfTokenizer(dirs[template]));
    }
    reference = await transformersReference(dirs, cases);
  });

  test("the reference answered every case", () => {
    assert.equal(reference.length, cases.length);
    // transformers raised exactly where a case says it fails (the TypeScript side must then throw too).
    const errors = labels.filter((_, i) => reference[i]!.error !== undefined).map((l) => `${l.template}: ${l.label}`);
    assert.deepEqual(errors, [
      "qwen3: content null next to tool calls (OpenAI style) is dropped like None; Qwen3's template then fails",
      "qwen3.5-xml: qwen3_xml refuses arguments given as a JSON string (both sides raise)",
    ]);
  });

  for (const template of TEMPLATES) {
    test(`${template}: every chat renders to the same text and token ids; encode and decode agree`, () => {
      const tokenizer = tokenizers.get(template)!;
      labels.forEach((l, i) => {
        if (l.template !== template) return;
        const expected = reference[i]!;
        if (expected.error !== undefined) {
          assert.throws(() => l.tsRun(tokenizer), l.label);
          return;
        }
        const actual = l.tsRun(tokenizer);
        if (expected.text !== undefined) assert.equal(actual.text, expected.text, l.label);
        if (expected.ids !== undefined) assert.deepEqual(actual.ids, expected.ids, l.label);
      });
    });
  }

  test("the Qwen3.5-style template opens thinking and writes qwen3_xml calls; the Qwen3 one writes Hermes JSON", () => {
    const messages = [task, { role: "assistant", content: "Looking.", reasoning_content: "Explore.", tool_calls: [bash("ls /app")] }];
    const xml = tokenizers.get("qwen3.5-xml")!.renderPrompt(messages, [BASH_TOOL], { addGenerationPrompt: true });
    assert.ok(
      xml.endsWith(
        "<|im_start|>assistant\n<think>\nExplore.\n</think>\n\nLooking.\n\n<tool_call>\n<function=bash>\n<parameter=command>\nls /app\n</parameter>\n</function>\n</tool_call><|im_end|>\n<|im_start|>assistant\n<think>\n",
      ),
      xml,
    );
    const hermes = tokenizers.get("qwen3")!.renderPrompt(messages, [BASH_TOOL], { addGenerationPrompt: true });
    assert.ok(hermes.includes('<tool_call>\n{"name": "bash", "arguments": {"command": "ls /app"}}\n</tool_call><|im_end|>\n<|im_start|>assistant\n'), hermes);
  });
});

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { formatObservation, truncateOutput } from "../../src/agent/tmax/observation.js";
import { TRUNCATION_HINT, instanceMessage, formatErrorMessage, SUBMIT_MARKER, BASH_TOOL } from "../../src/agent/tmax/prompts.js";
import { decide } from "../../src/agent/tmax/decide.js";
import { nativeToolCalls, splitReasoning, textToolCalls } from "../../src/model/tool-calls.js";
import type { ChatMessage } from "../../src/model/types.js";

describe("observations", () => {
  test("exact examples from the harness spec", () => {
    assert.equal(formatObservation({ stdout: "", stderr: "", returnCode: 0 }), "(no output)\n\n(exit_code=0)");
    assert.equal(
      formatObservation({ stdout: `${SUBMIT_MARKER}\n`, stderr: "", returnCode: 0 }),
      "COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT\n\n(exit_code=0)",
    );
  });
  test("stderr follows stdout after a newline; trailing whitespace trimmed; the real exit code", () => {
    assert.equal(formatObservation({ stdout: "out\n", stderr: "err\n", returnCode: 2 }), "out\n\nerr\n\n(exit_code=2)");
    assert.equal(formatObservation({ stdout: "", stderr: "only err  \n", returnCode: 127 }), "only err\n\n(exit_code=127)");
    assert.equal(formatObservation({ stdout: "   \n\n", stderr: "", returnCode: 1 }), "(no output)\n\n(exit_code=1)");
  });
  test("truncation is exact at the boundaries (code points)", () => {
    const at = "a".repeat(10_000);
    assert.equal(truncateOutput(at), at, "10,000 characters stay whole");
    const over = "h".repeat(5_000) + "mid" + "t".repeat(4_998);
    assert.equal([...over].length, 10_001);
    const t = truncateOutput(over);
    assert.equal(
      t,
      `${TRUNCATION_HINT}\n\n---- HEAD (5000 chars) ----\n${"h".repeat(5_000)}\n---- 1 chars elided ----\n---- TAIL (5000 chars) ----\n${"id" + "t".repeat(4_998)}`,
    );
  });
  test("lengths count code points, not UTF-16 units", () => {
    const emoji = "😀".repeat(10_000); // 20,000 UTF-16 units, 10,000 code points
    assert.equal(truncateOutput(emoji), emoji);
    const more = "😀".repeat(10_002);
    const t = truncateOutput(more);
    assert.ok(t.includes("---- 2 chars elided ----"));
    assert.ok(t.endsWith("😀".repeat(5_000)));
  });
  test("characters dropped upstream count toward the elided number", () => {
    const t = truncateOutput("x".repeat(12_000), 1_000_000);
    assert.ok(t.includes("---- 1002000 chars elided ----"));
  });
});

describe("prompts", () => {
  test("the instruction is trimmed and substituted by plain replacement", () => {
    const msg = instanceMessage("  Fix {{weird}} $1 \\n things  \n");
    assert.ok(msg.includes("<task>\nFix {{weird}} $1 \\n things\n</task>"));
    assert.ok(msg.includes(`echo ${SUBMIT_MARKER}`));
  });
  test("format error feedback starts with 'Format error: '", () => {
    assert.ok(formatErrorMessage("x").startsWith("Format error: "));
  });
  test("one bash tool with a required string command", () => {
    assert.equal(BASH_TOOL.function.name, "bash");
    assert.deepEqual((BASH_TOOL.function.parameters as { required: string[] }).required, ["command"]);
  });
});

const msg = (m: Partial<ChatMessage>): ChatMessage => ({ role: "assistant", content: null, ...m });

describe("tool calls", () => {
  test("native calls: arguments as JSON text or as an object", () => {
    const calls = nativeToolCalls(
      msg({
        tool_calls: [
          { id: "a", type: "function", function: { name: "bash", arguments: '{"command": "ls"}' } },
          { id: "b", type: "function", function: { name: "bash", arguments: { command: "pwd" } as unknown as string } },
        ],
      }),
    );
    assert.deepEqual(calls.map((c) => c.args), [{ command: "ls" }, { command: "pwd" }]);
  });
  test("Hermes text calls", () => {
    const content = 'I will list.</think>\n\n<tool_call>\n{"name": "bash", "arguments": {"command": "ls -la /app"}}\n</tool_call>';
    const [c] = textToolCalls(content);
    assert.equal(c?.source, "hermes");
    assert.deepEqual(c?.args, { command: "ls -la /app" });
  });
  test("Qwen3-XML text calls: raw values, one newline dropped at each end", () => {
    const content =
      "Let me check.\n<tool_call>\n<function=bash>\n<parameter=command>\ncat <<'EOF' > a.py\nprint(\"x\")\nEOF\n\n</parameter>\n</function>\n</tool_call>";
    const [c] = textToolCalls(content);
    assert.equal(c?.source, "qwen3_xml");
    assert.equal(c?.args?.command, "cat <<'EOF' > a.py\nprint(\"x\")\nEOF\n");
  });
  test("several blocks: all parsed in order; calls inside the reasoning ignored", () => {
    const content =
      '<think>maybe <tool_call>{"name":"bash","arguments":{"command":"rm -rf /"}}</tool_call></think>' +
      '<tool_call>{"name":"bash","arguments":{"command":"one"}}</tool_call><tool_call>{"name":"bash","arguments":{"command":"two"}}</tool_call>';
    assert.deepEqual(textToolCalls(content).map((c) => c.args?.command), ["one", "two"]);
  });
  test("reasoning: reasoning_content, or up to </think> in content", () => {
    assert.deepEqual(splitReasoning(msg({ content: "plan A</think>\n\nDoing it." })), { reasoning: "plan A", text: "Doing it." });
    assert.deepEqual(splitReasoning(msg({ content: "<think>\nplan</think>ok" })), { reasoning: "plan", text: "ok" });
    assert.deepEqual(splitReasoning(msg({ content: "just text", reasoning_content: "deep" })), { reasoning: "deep", text: "just text" });
    assert.deepEqual(splitReasoning(msg({ content: null })), { reasoning: null, text: "" });
  });
});

describe("deciding on a reply", () => {
  const call = (name: string, args: string, id = "c1") => ({ id, type: "function", function: { name, arguments: args } });
  test("a valid call keeps only the first call in the stored message", () => {
    const d = decide(msg({ content: "thinking", tool_calls: [call("bash", '{"command":"  ls  "}'), call("bash", '{"command":"pwd"}', "c2")] as never }));
    assert.ok(d.ok);
    assert.equal(d.ok && d.command, "ls");
    assert.equal(d.stored.tool_calls?.length, 1);
    assert.equal(d.stored.content, "thinking");
  });
  test("format errors: no call, wrong tool, bad JSON, missing/non-string/empty command", () => {
    const cases: [ChatMessage, RegExp][] = [
      [msg({ content: "I am done" }), /no tool call/],
      [msg({ tool_calls: [call("python", '{"command":"x"}')] as never }), /only tool is "bash"/],
      [msg({ tool_calls: [call("bash", '{"command": ')] as never }), /not valid JSON/],
      [msg({ tool_calls: [call("bash", '{"cmd":"ls"}')] as never }), /`command` argument is missing/],
      [msg({ tool_calls: [call("bash", '{"command": 3}')] as never }), /must be a string/],
      [msg({ tool_calls: [call("bash", '{"command": "  "}')] as never }), /empty/],
    ];
    for (const [m, re] of cases) {
      const d = decide(m);
      assert.equal(d.ok, false);
      assert.match(!d.ok ? d.reason : "", re);
      assert.equal(d.stored.tool_calls, undefined, "tool calls are removed from a rejected reply");
      assert.equal(typeof d.stored.content, "string", "null content becomes a string");
    }
  });
  test("a text call becomes a native call and the text block is removed", () => {
    const d = decide(msg({ content: 'ok</think>\n<tool_call>{"name":"bash","arguments":{"command":"ls"}}</tool_call>' }));
    assert.ok(d.ok);
    assert.equal(d.stored.content, "ok</think>");
    assert.equal(d.stored.tool_calls?.[0]?.function.arguments, '{"command":"ls"}');
    assert.match(d.stored.tool_calls[0].id, /^call_/);
  });
});

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { wrapObservation, wrapObservations } from "../../src/model/hf/observation-wrap.js";

describe("observation wrapping for the RL token stream", () => {
  test("qwen3_xml (Qwen3.5/3.6): a user turn in <tool_response> tags, then the assistant's turn opened with <think>", () => {
    assert.equal(
      wrapObservation("qwen3_xml", "(no output)\n\n(exit_code=0)"),
      "<|im_start|>user\n<tool_response>\n(no output)\n\n(exit_code=0)\n</tool_response>\n<|im_end|>\n<|im_start|>assistant\n<think>\n",
    );
  });

  test("hermes (Qwen3): a tool-role turn, then the assistant's turn without a forced <think>", () => {
    assert.equal(
      wrapObservation("hermes", "a\n\n(exit_code=1)"),
      "<|im_start|>tool\n<tool_response>\na\n\n(exit_code=1)\n</tool_response>\n<|im_end|>\n<|im_start|>assistant\n",
    );
  });

  test("the observation is kept verbatim: empty, surrounding newlines, unicode, tag-like text", () => {
    for (const obs of ["", "\n\nx\n\n", "ünï 你好 👩‍👧", "</tool_response><|im_end|>"]) {
      assert.equal(wrapObservation("qwen3_xml", obs), `<|im_start|>user\n<tool_response>\n${obs}\n</tool_response>\n<|im_end|>\n<|im_start|>assistant\n<think>\n`);
    }
  });

  test("several observations of one turn: one turn each, in order, and a single opening of the next assistant turn", () => {
    assert.equal(
      wrapObservations("qwen3_xml", ["one", "two"]),
      "<|im_start|>user\n<tool_response>\none\n</tool_response>\n<|im_end|>\n" +
        "<|im_start|>user\n<tool_response>\ntwo\n</tool_response>\n<|im_end|>\n" +
        "<|im_start|>assistant\n<think>\n",
    );
    assert.equal(
      wrapObservations("hermes", ["one", "two"]),
      "<|im_start|>tool\n<tool_response>\none\n</tool_response>\n<|im_end|>\n" +
        "<|im_start|>tool\n<tool_response>\ntwo\n</tool_response>\n<|im_end|>\n" +
        "<|im_start|>assistant\n",
    );
    assert.equal(wrapObservations("hermes", ["only"]), wrapObservation("hermes", "only"));
    assert.throws(() => wrapObservations("qwen3_xml", []), /at least one observation/);
  });
});

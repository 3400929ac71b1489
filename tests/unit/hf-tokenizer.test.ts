import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { cp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { BASH_TOOL } from "../../src/agent/tmax/prompts.js";
import { withDecodedToolArguments } from "../../src/model/hf/chat-template.js";
import { loadHfTokenizer } from "../../src/model/hf/hf-tokenizer.js";
import { QWEN35_XML_TEMPLATE_FILE, writeQwen3TokenizerDir } from "../../src/model/hf/qwen3-model-dir.js";

describe("loading a Hugging Face model dir's tokenizer and chat template", () => {
  const root = mkdtempSync(path.join(tmpdir(), "tmax-hf-load-"));
  after(() => rmSync(root, { recursive: true, force: true }));
  let qwen3: string;
  let n = 0;

  before(async () => {
    qwen3 = await writeQwen3TokenizerDir(path.join(root, "qwen3"), "qwen3");
  });

  /** A copy of the Qwen3 dir with its tokenizer_config.json edited and extra files written. */
  async function variant(edit: (config: Record<string, unknown>) => void, files: Record<string, string> = {}): Promise<string> {
    const dir = path.join(root, `variant-${++n}`);
    await cp(qwen3, dir, { recursive: true });
    const configFile = path.join(dir, "tokenizer_config.json");
    const config = JSON.parse(readFileSync(configFile, "utf8")) as Record<string, unknown>;
    edit(config);
    writeFileSync(configFile, JSON.stringify(config));
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
    return dir;
  }

  const hi = [{ role: "user", content: "hi" }];

  test("Qwen3's special tokens: EOS <|im_end|>, pad <|endoftext|>, no BOS; <think> is an added token, not a special one", async () => {
    const tok = await loadHfTokenizer(qwen3);
    assert.equal(tok.eosToken, "<|im_end|>");
    assert.equal(tok.eosTokenId, 151645);
    assert.equal(tok.padTokenId, 151643);
    assert.equal(tok.bosTokenId, null);
    assert.deepEqual(tok.stopTokenIds, [151645], "without generation_config.json only the EOS ends a turn");
    assert.equal(tok.specialTokenIds.get("<|im_start|>"), 151644);
    assert.equal(tok.specialTokenIds.get("<|endoftext|>"), 151643);
    assert.equal(tok.specialTokenIds.has("<think>"), false);
    assert.equal(tok.tokenId("<think>"), 151667);
    assert.equal(tok.tokenId("no such token"), undefined);
    assert.equal(tok.decode([151644, 6023, 151645], { skipSpecialTokens: true }), "hi");
    assert.equal(tok.decode([151644, 6023, 151645], { skipSpecialTokens: false }), "<|im_start|>hi<|im_end|>");
  });

  test("generation_config.json's eos_token_id list adds stop tokens after the EOS", async () => {
    const dir = await variant(() => {}, { "generation_config.json": JSON.stringify({ eos_token_id: [151643, 151645] }) });
    assert.deepEqual((await loadHfTokenizer(dir)).stopTokenIds, [151645, 151643]);
  });

  test("special tokens written as AddedToken objects are read by their content", async () => {
    const dir = await variant((c) => {
      c.eos_token = { __type: "AddedToken", content: "<|endoftext|>", lstrip: false, rstrip: false, normalized: false, special: true };
    });
    const tok = await loadHfTokenizer(dir);
    assert.equal(tok.eosTokenId, 151643);
    assert.equal(tok.eosToken, "<|endoftext|>");
  });

  test("the template sees the special tokens as variables", async () => {
    const dir = await variant((c) => {
      c.chat_template = "{{ eos_token }}|{{ pad_token }}|{{ bos_token is defined }}";
    });
    assert.equal((await loadHfTokenizer(dir)).renderPrompt(hi, null, { addGenerationPrompt: false }), "<|im_end|>|<|endoftext|>|false");
  });

  test("chat_template.jinja takes priority over tokenizer_config.json's template", async () => {
    const dir = await variant(() => {}, { "chat_template.jinja": readFileSync(QWEN35_XML_TEMPLATE_FILE, "utf8") });
    const text = (await loadHfTokenizer(dir)).renderPrompt(hi, null, { addGenerationPrompt: true });
    assert.equal(text, "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\n");
  });

  test("named templates: tool_use when tools are given, default otherwise; without a default that is an error", async () => {
    const named = await variant((c) => {
      c.chat_template = [
        { name: "default", template: "plain:{{ messages | length }}" },
        { name: "tool_use", template: "tools:{{ tools | length }}" },
      ];
    });
    const tok = await loadHfTokenizer(named);
    assert.equal(tok.renderPrompt(hi, null, { addGenerationPrompt: false }), "plain:1");
    assert.equal(tok.renderPrompt(hi, [BASH_TOOL], { addGenerationPrompt: false }), "tools:1");
    const noDefault = await loadHfTokenizer(await variant((c) => void (c.chat_template = [{ name: "rag", template: "x" }])));
    assert.throws(() => noDefault.renderPrompt(hi, null, { addGenerationPrompt: false }), /none named "default"/);
  });

  test("a dir without a template still tokenizes; rendering names the problem", async () => {
    const tok = await loadHfTokenizer(await variant((c) => delete c.chat_template));
    assert.deepEqual(tok.encode("hi", { addSpecialTokens: false }), [6023]);
    assert.throws(() => tok.renderPrompt(hi, null, { addGenerationPrompt: false }), /no chat template/);
    assert.throws(() => tok.renderPrompt([], null, { addGenerationPrompt: false }), /empty conversation/);
  });

  test("a missing tokenizer.json or a config without eos_token fails the load", async () => {
    const noTokenizer = await variant(() => {});
    unlinkSync(path.join(noTokenizer, "tokenizer.json"));
    await assert.rejects(loadHfTokenizer(noTokenizer), { code: "ENOENT" });
    await assert.rejects(loadHfTokenizer(await variant((c) => delete c.eos_token)), /sets no eos_token/);
    await assert.rejects(loadHfTokenizer(await variant((c) => void (c.eos_token = "<|nope|>"))), /is not a token/);
  });

  test("withDecodedToolArguments turns JSON-string arguments into objects for qwen3_xml templates, and leaves the rest", async () => {
    const tok = await loadHfTokenizer(await writeQwen3TokenizerDir(path.join(root, "xml"), "qwen3.5-xml"));
    const asObject = [...hi, { role: "assistant", content: "x", tool_calls: [{ id: "c1", type: "function", function: { name: "bash", arguments: { command: "ls" } } }] }];
    const asString = [...hi, { role: "assistant", content: "x", tool_calls: [{ id: "c1", type: "function", function: { name: "bash", arguments: '{"command":"ls"}' } }] }];
    assert.throws(() => tok.renderPrompt(asString, [BASH_TOOL], { addGenerationPrompt: false }), /arguments as an object/);
    assert.equal(
      tok.renderPrompt(withDecodedToolArguments(asString), [BASH_TOOL], { addGenerationPrompt: false }),
      tok.renderPrompt(asObject, [BASH_TOOL], { addGenerationPrompt: false }),
    );
    const notAnObject = [{ role: "assistant", content: "x", tool_calls: [{ function: { name: "bash", arguments: "[1]" } }, { function: { name: "bash", arguments: "{bad" } }] }];
    assert.deepEqual(withDecodedToolArguments(notAnObject), notAnObject);
    assert.deepEqual(withDecodedToolArguments(hi), hi);
  });
});

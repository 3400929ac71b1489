import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { SUBMIT_MARKER } from "../../src/agent/tmax/prompts.js";
import { loadHfTokenizer, type HfTokenizer } from "../../src/model/hf/hf-tokenizer.js";
import { writeQwen3TokenizerDir } from "../../src/model/hf/qwen3-model-dir.js";
import { readRollouts } from "../../src/rl/rollout-store.js";
import { runCli } from "../helpers/cli.js";
import { startScriptedTokenServer, type ScriptedTokenServer } from "../helpers/scripted-token-server.js";
import { tempDir, writeTask } from "../helpers/task-fixture.js";

/**
 * `tmax rollout` end to end: a real task in real podman sandboxes, the real Qwen3 tokenizer with tmax's Qwen3.5-style
 * template, a scripted token server standing in for vLLM, and the task's own verifier scoring the submitted episodes.
 */

let tok: HfTokenizer;
let modelDir: string;
let server: ScriptedTokenServer;

const call = (command: string): string => `<tool_call>\n<function=bash>\n<parameter=command>\n${command}\n</parameter>\n</function>\n</tool_call>`;

before(async () => {
  modelDir = await writeQwen3TokenizerDir(tempDir("tmax-qwen35-"), "qwen3.5-xml");
  tok = await loadHfTokenizer(modelDir);
  const decode = (ids: number[]): string => tok.decode(ids, { skipSpecialTokens: false });
  // The model's move depends on how far the episode is: first do the task, then submit.
  server = await startScriptedTokenServer(
    (req) => {
      const seen = decode(req.body.prompt as number[]).split("<tool_response>").length - 1;
      const command = seen === 0 ? "touch /app/done && ls /app" : `echo ${SUBMIT_MARKER}`;
      return { ids: tok.encode(`step ${seen}\n</think>\n\n${call(command)}<|im_end|>`, { addSpecialTokens: false }) };
    },
    { decode },
  );
});

after(() => server.close());

test("tmax rollout: G episodes in sandboxes, scored by the task's verifier, written as the learner reads them", async () => {
  const ds = tempDir("tmax-ds-");
  const task = writeTask(ds, "rollout-task");
  const out = join(tempDir("tmax-rollouts-"), "r");
  const r = await runCli(["rollout", "-p", task, "--model-dir", modelDir, "--base-url", server.url, "-n", "2", "-o", out, "--group", "grp", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout) as { rollouts: { ending: string; reward: number }[] };
  assert.deepEqual(summary.rollouts.map((x) => [x.ending, x.reward]), [["submitted", 1], ["submitted", 1]]);

  const rollouts = await readRollouts(out);
  assert.equal(rollouts.length, 2);
  for (const [j, ro] of rollouts.entries()) {
    assert.equal(ro.sampleIndex, j);
    assert.equal(ro.seed, 42 + j);
    assert.equal(ro.groupId, "grp");
    assert.equal(ro.turns.length, 2);
    assert.equal(ro.responseIds.length, ro.lossMask.length);
    assert.equal(ro.responseIds.length, ro.logprobs.length);
    const obs = tok.decode(Array.from(ro.responseIds.slice(ro.turns[0]!.end, ro.turns[1]!.start)), { skipSpecialTokens: false });
    assert.match(obs, /<tool_response>\n[\s\S]*done[\s\S]*<\/tool_response>/, "the sandbox's real output came back");
    assert.ok(ro.lossMask.slice(ro.turns[0]!.end, ro.turns[1]!.start).every((m) => m === 0));
  }
  // Every request of one group and policy version shares one prefix-cache salt; the samples differ in seed.
  assert.equal(new Set(server.requests.map((q) => q.body.cache_salt)).size, 1);
  assert.deepEqual([...new Set(server.requests.map((q) => q.body.seed))].sort(), [42, 43]);

  const shown = await runCli(["rollout", "-p", task, "--model-dir", modelDir, "--base-url", server.url, "-n", "1", "-o", `${out}-show`, "--show"]);
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /rollout-task · sample 0 · seed 42 · submitted · reward 1/);
  assert.match(shown.stdout, /⟦step 0\n<\/think>\n\n<tool_call>/, "the sampled span is marked");
});

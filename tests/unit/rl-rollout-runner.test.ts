import assert from "node:assert/strict";
import { test } from "node:test";
import type { EnvironmentProvider } from "../../src/environment/environment.js";
import { loadHfTokenizer } from "../../src/model/hf/hf-tokenizer.js";
import { writeQwen3TokenizerDir } from "../../src/model/hf/qwen3-model-dir.js";
import { promptCodecFor } from "../../src/rl/prompt-codec.js";
import { RECIPE_ROLLOUT_SETTINGS, runRollout } from "../../src/rl/rollout-runner.js";
import { loadTask } from "../../src/task/task.js";
import { fakeProvider } from "../helpers/fake-provider.js";
import { tempDir, writeTask } from "../helpers/task-fixture.js";

test("a sandbox that does not start is an infra_error: no reward (not a 0), one EOS with a NaN logprob", async () => {
  const tok = await loadHfTokenizer(await writeQwen3TokenizerDir(tempDir("tmax-qwen35-"), "qwen3.5-xml"));
  const task = await loadTask(writeTask(tempDir("tmax-ds-"), "broken-env"));
  const base = fakeProvider();
  const provider: EnvironmentProvider = {
    ...base,
    createEnvironment: (spec) => ({ ...base.createEnvironment(spec), start: () => Promise.reject(new Error("engine unreachable")) }),
  };
  let sampled = 0;
  const client = { model: "m", sample: () => (sampled++, Promise.reject(new Error("never asked"))) };
  const r = await runRollout(
    { task, groupId: "g", sampleIndex: 3, policyVersion: 7 },
    { provider, client, codec: promptCodecFor(tok), settings: RECIPE_ROLLOUT_SETTINGS, logsDir: tempDir(), signal: new AbortController().signal },
  );
  assert.equal(r.ending, "infra_error");
  assert.equal(r.reward, null);
  assert.match(r.error ?? "", /engine unreachable/);
  assert.equal(sampled, 0);
  assert.deepEqual(Array.from(r.responseIds), [tok.eosTokenId]);
  assert.deepEqual(Array.from(r.lossMask), [1]);
  assert.ok(Number.isNaN(r.logprobs[0]));
  assert.equal(r.seed, 45);
  assert.equal(r.policyVersion, 7);
});

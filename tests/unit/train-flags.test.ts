import assert from "node:assert/strict";
import { test } from "node:test";
import { trainConfigOptions, trainOverrides, TrainFlagError } from "../../src/cli/train-flags.js";

test("tmax train flags: every config key is a flag, converted by the key's type", () => {
  const flags = trainConfigOptions().map((o) => o.long);
  assert.ok(flags.includes("--group-size") && flags.includes("--eval-agent-kwargs") && flags.includes("--probe-endpoints"));
  const loss = trainConfigOptions().find((o) => o.long === "--loss")!;
  assert.deepEqual(loss.argChoices, ["dppo", "dppo-kl", "ppo-clip"]);
  assert.deepEqual(
    trainOverrides({ groupSize: "8", lr: "1e-5", temperature: "1", probeEndpoints: "false", endpoints: "http://a/v1,http://b/v1", torchrunArgs: "--nnodes 2", evalAgentKwargs: "max_steps=2,mode=fast,on=true" }),
    { group_size: 8, lr: 1e-5, temperature: 1, probe_endpoints: false, endpoints: ["http://a/v1", "http://b/v1"], torchrun_args: ["--nnodes", "2"], eval_agent_kwargs: { max_steps: 2, mode: "fast", on: true } },
  );
  assert.deepEqual(trainOverrides({}), {});
  assert.throws(() => trainOverrides({ groupSize: "2.5" }), (e: Error) => e instanceof TrainFlagError && /--group-size: expected an integer, got 2\.5/.test(e.message));
  assert.throws(() => trainOverrides({ lr: "fast" }), /--lr: expected a number/);
  assert.throws(() => trainOverrides({ evalAgentKwargs: "novalue" }), /expected KEY=VALUE/);
});

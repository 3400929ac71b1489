import assert from "node:assert/strict";
import { test } from "node:test";
import { trainConfigOptions, trainOverrides, TrainFlagError } from "../../src/cli/train-flags.js";
import { parseTrainConfig, TrainConfigError } from "../../src/rl/train/train-config.js";

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

test("tmax train config: eval_agent_kwargs the tmax agent would refuse are an error at start, naming the key", () => {
  const base = { tasks: "t", model_dir: "m", out: "o" };
  assert.deepEqual(parseTrainConfig({ ...base, eval_agent_kwargs: { max_steps: 4, max_tokens: 128 } }, "toy.yaml").eval_agent_kwargs, { max_steps: 4, max_tokens: 128 });
  assert.throws(() => parseTrainConfig({ ...base, eval_agent_kwargs: { max_turn_tokens: 128 } }, "toy.yaml"), (e: Error) => e instanceof TrainConfigError && /toy\.yaml: eval_agent_kwargs: .*unknown agent kwarg\(s\): max_turn_tokens/.test(e.message));
  assert.throws(() => parseTrainConfig({ ...base, eval_agent_kwargs: { max_steps: "many" } }, "toy.yaml"), /eval_agent_kwargs: .*max_steps/);
});

test("tmax train config: per-engine caps for engines (null = tmax run's defaults), positive integers only", () => {
  const base = { tasks: "t", model_dir: "m", out: "o" };
  const plain = parseTrainConfig(base, "train.yaml");
  assert.deepEqual([plain.engine_max_starts, plain.engine_max_execs], [null, null]);
  const capped = parseTrainConfig({ ...base, engines: ["unix:///a.sock"], engine_max_starts: 4, engine_max_execs: 32 }, "train.yaml");
  assert.deepEqual([capped.engine_max_starts, capped.engine_max_execs], [4, 32]);
  assert.throws(() => parseTrainConfig({ ...base, engine_max_starts: 0 }, "train.yaml"), (e: Error) => e instanceof TrainConfigError && /engine_max_starts/.test(e.message));
  assert.deepEqual(trainOverrides({ engineMaxStarts: "2", engineMaxExecs: "8" }), { engine_max_starts: 2, engine_max_execs: 8 });
});

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Agent } from "../../src/agent/agent.js";
import type { EnvironmentProvider } from "../../src/environment/environment.js";
import { BASH_TOOL } from "../../src/agent/tmax/prompts.js";
import { buildJobConfig, buildTrialConfig } from "../../src/job/config.js";
import { OpenAIChatClient } from "../../src/model/openai-client.js";
import { loadTask } from "../../src/task/task.js";
import { runTrial } from "../../src/trial/trial.js";
import { sleep } from "../../src/util/sleep.js";
import { MAX_TIMER_MS, setLongTimeout } from "../../src/util/timers.js";
import { fakeProvider } from "../helpers/fake-provider.js";
import { runOptions } from "../helpers/run-options.js";
import { startScriptedModel } from "../helpers/scripted-model.js";
import { tempDir, writeTask } from "../helpers/task-fixture.js";

/** A delay Node's own setTimeout cannot keep: it would fire after 1 ms. */
const BEYOND_NODE_LIMIT_MS = 2 ** 31 + 1000;

// Node reports an overflowing timer only as a process warning (emitted on a later tick): collect them.
const warnings: Error[] = [];
const onWarning = (w: Error): void => void warnings.push(w);
before(() => process.on("warning", onWarning));
after(() => process.off("warning", onWarning));
/** The overflow warnings since the last call. */
async function overflowWarnings(): Promise<string[]> {
  await new Promise((r) => setImmediate(r));
  return warnings.splice(0).filter((w) => w.name === "TimeoutOverflowWarning").map((w) => w.message);
}

describe("timers beyond Node's 2^31 − 1 ms limit", () => {
  test("setLongTimeout: a delay beyond the limit does not fire early and sets no overflowing timer", async () => {
    let fired = false;
    const timer = setLongTimeout(() => (fired = true), BEYOND_NODE_LIMIT_MS);
    await sleep(50);
    assert.equal(fired, false);
    timer.clear();
    assert.deepEqual(await overflowWarnings(), []);
  });

  test("setLongTimeout: the steps add up to the delay asked for; Infinity never fires; short delays are plain", (t) => {
    // A fake clock: waiting out 2 × 24.8 days for real is not an option.
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const fired: string[] = [];
    setLongTimeout(() => fired.push("long"), 2 * MAX_TIMER_MS + 10);
    setLongTimeout(() => fired.push("never"), Infinity);
    setLongTimeout(() => fired.push("short"), 5);
    setLongTimeout(() => fired.push("negative"), -1);
    const cleared = setLongTimeout(() => fired.push("cleared"), MAX_TIMER_MS + 1);
    t.mock.timers.tick(5);
    assert.deepEqual(fired, ["negative", "short"]);
    t.mock.timers.tick(MAX_TIMER_MS - 5);
    cleared.clear(); // in its second step
    t.mock.timers.tick(MAX_TIMER_MS);
    t.mock.timers.tick(9);
    assert.deepEqual(fired, ["negative", "short"], "1 ms short of 2 × MAX + 10");
    t.mock.timers.tick(1);
    assert.deepEqual(fired, ["negative", "short", "long"]);
    t.mock.timers.tick(10 * MAX_TIMER_MS);
    assert.deepEqual(fired, ["negative", "short", "long"]);
  });

  test("sleep: a long sleep does not end early and still ends at once on abort", async () => {
    const ctl = new AbortController();
    let woke = false;
    const long = sleep(BEYOND_NODE_LIMIT_MS, ctl.signal).then(() => (woke = true));
    await sleep(50);
    assert.equal(woke, false);
    ctl.abort(new Error("stop"));
    await assert.rejects(long, /stop/);
    assert.deepEqual(await overflowWarnings(), []);
  });
});

describe("huge timeouts end to end", () => {
  // Each phase takes a moment and stops when its deadline aborts it, as real environments and agents do: a deadline
  // that fires early shows as that phase's timeout error.
  function slowStartProvider(): EnvironmentProvider {
    const base = fakeProvider();
    return {
      ...base,
      createEnvironment: (spec) => ({ ...base.createEnvironment(spec), start: (opts) => sleep(30, opts?.signal) }),
    };
  }
  const slowAgent: Agent = {
    name: "slow-agent",
    version: "1",
    modelInfo: null,
    setup: (_env, ctx) => sleep(30, ctx.signal),
    run: (_instruction, _env, ctx) => sleep(30, ctx.signal),
  };

  test("a trial whose timeouts exceed 24.8 days (timeout_sec = 3000000, a large multiplier) records no timeout", async () => {
    const root = tempDir("tmax-long-");
    const cases = [
      { name: "huge-task-timeouts", toml: 'schema_version = "1.1"\n[agent]\ntimeout_sec = 3000000\n[verifier]\ntimeout_sec = 3000000\n[environment]\nbuild_timeout_sec = 3000000\n', multiplier: 1 },
      { name: "huge-multiplier", toml: 'schema_version = "1.1"\n[agent]\ntimeout_sec = 60\n', multiplier: 1_000_000 },
    ];
    for (const c of cases) {
      const task = await loadTask(writeTask(root, c.name, { toml: c.toml }));
      const job = buildJobConfig(runOptions({ path: root, timeoutMultiplier: c.multiplier }));
      const trialName = `${c.name}__1`;
      const result = await runTrial(
        { task, config: buildTrialConfig(job, task, trialName, "job-id", null), source: null, dir: `${root}/${trialName}` },
        { provider: slowStartProvider(), agent: slowAgent },
      );
      assert.equal(result.exception_info?.exception_type ?? null, null, `${c.name}: ${result.exception_info?.exception_message}`);
      assert.deepEqual(result.verifier_result, { rewards: { reward: 1 } });
    }
    assert.deepEqual(await overflowWarnings(), []);
  });

  test("a model request timeout beyond 24.8 days does not cut a request short", async () => {
    const server = await startScriptedModel([{ kind: "hang", ms: 100, then: { kind: "call", command: "late" } }]);
    try {
      const client = new OpenAIChatClient({ baseUrl: server.url, model: "scripted-model", requestTimeoutSec: 3_000_000, retry: { attempts: 2, baseDelaySec: 0.01, maxRetryAfterSec: 60 } });
      const reply = await client.complete([{ role: "user", content: "hi" }], [BASH_TOOL], {});
      assert.equal(reply.attempts, 1, "answered on the first request");
      assert.match(JSON.stringify(reply.message.tool_calls), /late/);
    } finally {
      await server.close();
    }
    assert.deepEqual(await overflowWarnings(), []);
  });
});

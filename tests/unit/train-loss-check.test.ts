import assert from "node:assert/strict";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { findLearnerPython } from "../../src/rl/learner-python.js";
import { REPO, runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/task-fixture.js";

/**
 * The golden row of the RL spec (§6.1), after the shift: [P, a0, a1, a2, T, T, a3, P, b0, b1, b2]; P and T have mask
 * 0. Probabilities μ (behaviour) and π (learner); trajectory a has A = +0.5, b has A = −0.5.
 */
const ROW = [
  { mu: 1, pi: 0.3, a: 0, m: 0 },
  { mu: 0.5, pi: 0.55, a: 0.5, m: 1 },
  { mu: 0.6, pi: 0.75, a: 0.5, m: 1 },
  { mu: 0.02, pi: 0.05, a: 0.5, m: 1 },
  { mu: 1, pi: 0.05, a: 0, m: 0 },
  { mu: 1, pi: 0.9, a: 0, m: 0 },
  { mu: 0.9, pi: 0.7, a: 0.5, m: 1 },
  { mu: 1, pi: 0.6, a: 0, m: 0 },
  { mu: 0.3, pi: 0.15, a: -0.5, m: 1 },
  { mu: 0.4, pi: 0.55, a: -0.5, m: 1 },
  { mu: 0.05, pi: 0.045, a: -0.5, m: 1 },
];
/** ∂L/∂lπ per token with N = 7, as the table prints it (a1 and b0 are masked by the trust region). */
const DPPO_GRADIENT = [0, -0.0785714, 0, -0.1785714, 0, 0, -0.0555556, 0, 0, 0.0982143, 0.0642857];

const goldenCase = {
  vllm_logprobs: ROW.map((t) => Math.log(t.mu)),
  learner_logprobs: ROW.map((t) => Math.log(t.pi)),
  advantages: ROW.map((t) => t.a),
  response_mask: ROW.map((t) => t.m),
  delta: 0.1,
};

/** The fields of a loss-check case result this test reads. */
interface CaseReport {
  loss: number;
  kept_fraction: number;
  clip_fraction: number;
  num_tokens: number;
  grad_wrt_learner_logprobs: number[];
}

function close(actual: number, expected: number, tolerance: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} is not ${expected} ± ${tolerance}`);
}

function writeJson(value: unknown): string {
  const file = join(tempDir("loss-check-"), "cases.json");
  writeFileSync(file, JSON.stringify(value));
  return file;
}

test("tmax train loss-check: the golden row through the learner's loss code (DPPO and PPO-clip)", async () => {
  const file = writeJson({ cases: [goldenCase, { ...goldenCase, loss: "ppo-clip" }] });
  const r = await runCli(["train", "loss-check", file]);
  assert.equal(r.code, 0, r.stderr);
  const [dppo, ppo] = (JSON.parse(r.stdout) as { cases: CaseReport[] }).cases;
  close(dppo!.loss, -0.1501984127, 1e-6 * 0.1501984127, "DPPO loss");
  close(dppo!.kept_fraction, 5 / 7, 1e-6, "kept fraction");
  assert.equal(dppo!.num_tokens, 7);
  const gradient = dppo!.grad_wrt_learner_logprobs;
  assert.equal(gradient.length, ROW.length);
  gradient.forEach((g, i) => close(g, DPPO_GRADIENT[i]!, 1e-7, `gradient of token ${i}`));
  ROW.forEach((t, i) => t.m === 0 && assert.equal(gradient[i], 0, `prompt/tool token ${i} has no gradient`));
  close(ppo!.loss, -0.0946269841, 1e-6 * 0.0946269841, "PPO-clip loss");
  close(ppo!.clip_fraction, 2 / 7, 1e-6, "PPO-clip clip fraction");
});

test("tmax train loss-check: a file it cannot use is named in the error (exit 1)", async () => {
  const missing = join(tempDir("loss-check-"), "nope.json");
  const gone = await runCli(["train", "loss-check", missing]);
  assert.equal(gone.code, 1);
  assert.equal(gone.stdout, "");
  assert.match(gone.stderr, new RegExp(`${missing.replace(/[.]/g, "\\.")}: No such file`));

  const bad = writeJson({ cases: [{ ...goldenCase, delta: 0 }] });
  const rejected = await runCli(["train", "loss-check", bad]);
  assert.equal(rejected.code, 1);
  assert.ok(rejected.stderr.includes(`${bad}: cases[0].delta: DPPO needs a trust-region delta > 0`), rejected.stderr);

  assert.equal((await runCli(["train", "loss-check"])).code, 2, "no file: a usage error");
});

test("tmax train loss-check: TMAX_PYTHON overrides the interpreter; its output streams through, its exit code maps", async () => {
  const dir = tempDir("loss-check-");
  const fake = join(dir, "python");
  writeFileSync(fake, '#!/bin/sh\nprintf \'{"argv": "%s"}\\n\' "$*"\nexit "${FAKE_EXIT:-0}"\n');
  chmodSync(fake, 0o755);
  const ok = await runCli(["train", "loss-check", "cases.json"], { env: { TMAX_PYTHON: fake } });
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(JSON.parse(ok.stdout), { argv: "-m tmax_learner loss-check cases.json" });
  assert.equal((await runCli(["train", "loss-check", "x"], { env: { TMAX_PYTHON: fake, FAKE_EXIT: "2" } })).code, 2);
  assert.equal((await runCli(["train", "loss-check", "x"], { env: { TMAX_PYTHON: fake, FAKE_EXIT: "7" } })).code, 1);

  const absent = await runCli(["train", "loss-check", "x"], { env: { TMAX_PYTHON: join(dir, "no-python") } });
  assert.equal(absent.code, 1);
  assert.match(absent.stderr, /^tmax train loss-check: TMAX_PYTHON=.*no-python: no such file/m);
});

test("the learner's Python: the repository's .venv, or a message saying how to create it", () => {
  assert.deepEqual(findLearnerPython({}, REPO), { command: join(REPO, ".venv", "bin", "python"), source: ".venv" });
  const bare = tempDir("no-venv-");
  assert.throws(() => findLearnerPython({}, bare), /learner's Python environment is missing .*run `bash scripts\/setup\.sh`/);
  assert.deepEqual(findLearnerPython({ TMAX_PYTHON: "python3" }, bare), { command: "python3", source: "TMAX_PYTHON" });
});

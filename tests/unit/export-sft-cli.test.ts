import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { writeRollouts } from "../../src/rl/rollout-store.js";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/task-fixture.js";
import { rollout, TMAX_SFT_MESSAGES, tmaxChat, writeJob } from "./sft-fixtures.js";

test("tmax export sft: the JSONL file, the summary on stderr and as --json, exit 1 when a rewarded trial is unreadable", async () => {
  const job = writeJob([
    { task: "a", id: "0000001", reward: 1, trajectory: tmaxChat() },
    { task: "a", id: "0000002", reward: 0, trajectory: tmaxChat() },
  ]);
  const outDir = tempDir("tmax-sft-out-");
  const out = join(outDir, "sft.jsonl");
  const ok = await runCli(["export", "sft", job, "-o", out, "--json"]);
  assert.equal(ok.code, 0, ok.stderr);
  const lines = readFileSync(out, "utf8").split("\n");
  assert.equal(lines.pop(), "", "newline-terminated");
  assert.deepEqual(lines.map((l) => JSON.parse(l).messages), [TMAX_SFT_MESSAGES]);
  assert.match(ok.stderr, /2 trajectories found, 1 exported to .*sft\.jsonl, 1 skipped by reward, 0 unreadable/);
  assert.deepEqual(JSON.parse(ok.stdout), { out, format: "messages", min_reward: 1, found: 2, exported: 1, skipped_by_reward: 1, unreadable: [] });
  assert.deepEqual(readdirSync(outDir), ["sft.jsonl"], "no temp file left");

  const broken = writeJob([{ task: "b", id: "0000003", reward: 1 }]);
  const bad = await runCli(["export", "sft", broken, "-o", out, "--min-reward", "0.5"]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /1 unreadable\n {2}.*b__0000003: no trajectory \(agent\/trajectory\.json is missing\)/);
  assert.equal(readFileSync(out, "utf8"), "", "the file holds what was exported: nothing");
});

test("tmax export sft: usage errors (exit 2) and unreadable inputs (exit 1) write nothing", async () => {
  const out = join(tempDir("tmax-sft-out-"), "sft.jsonl");
  const rollouts = tempDir("tmax-sft-rollouts-");
  await writeRollouts(rollouts, [rollout({})]);
  const asMessages = await runCli(["export", "sft", rollouts, "-o", out]);
  assert.equal(asMessages.code, 2);
  assert.match(asMessages.stderr, /tmax export sft: .*: a rollout directory holds token ids, not messages; export it with --format tokens/);

  const noModelDir = await runCli(["export", "sft", writeJob([]), "-o", out, "--format", "tokens"]);
  assert.equal(noModelDir.code, 2);
  assert.match(noModelDir.stderr, /--format tokens renders a job's trajectories with a chat template; give --model-dir/);

  const badFormat = await runCli(["export", "sft", rollouts, "-o", out, "--format", "text"]);
  assert.equal(badFormat.code, 2);

  const missing = await runCli(["export", "sft", join(rollouts, "nope"), "-o", out, "--format", "tokens"]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /nope: no such directory/);
  assert.equal(existsSync(out), false);

  const tokens = await runCli(["export", "sft", rollouts, "-o", out, "--format", "tokens"]);
  assert.equal(tokens.code, 0, tokens.stderr);
  assert.deepEqual(JSON.parse(readFileSync(out, "utf8")).loss_mask, [0, 0, 0, 1, 1, 1, 0, 0, 1, 1]);
});

/**
 * bench/learner (not in CI): what the RL learner and the rollout's token bookkeeping cost.
 *
 * 1. Learner tokens/s for the tiny model on CPU, one packed row at pack lengths 2k and 8k, with the chunked FP32 LM
 *    head next to the dense one (the whole [T, vocab] logits at once), and each run's peak memory.
 * 2. Per rollout turn: rendering and tokenizing what the token policy appends (the real Qwen3 tokenizer), next to
 *    the floor of the inference call it waits on — one round trip to a local token server that answers at once.
 *
 *   node --import tsx bench/learner/run.ts [--packs 2048,8192] [--dense-max 8192] [--turns 40] [--json]
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { BASH_TOOL, SYSTEM_PROMPT, instanceMessage } from "../../src/agent/tmax/prompts.js";
import { CompletionsTokenClient } from "../../src/model/completions-client.js";
import { loadHfTokenizer } from "../../src/model/hf/hf-tokenizer.js";
import { writeQwen3TokenizerDir } from "../../src/model/hf/qwen3-model-dir.js";
import { promptCodecFor } from "../../src/rl/prompt-codec.js";
import { findLearnerPython } from "../../src/rl/learner-python.js";
import { startScriptedTokenServer } from "../../tests/helpers/scripted-token-server.js";

const { values } = parseArgs({
  options: {
    packs: { type: "string", default: "2048,8192" },
    "dense-max": { type: "string", default: "8192" },
    turns: { type: "string", default: "40" },
    json: { type: "boolean", default: false },
  },
});
const PACKS = values.packs.split(",").map(Number);
const DENSE_MAX = Number(values["dense-max"]);
const TURNS = Number(values.turns);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const scratch = mkdtempSync(join(tmpdir(), "tmax-bench-learner-"));
try {
  const tokenizerDir = await writeQwen3TokenizerDir(join(scratch, "tokenizer"), "qwen3.5-xml");
  const python = findLearnerPython().command;
  const modelDir = join(scratch, "tiny");
  const made = spawnSync(python, ["-m", "tmax_learner", "make-tiny-model", modelDir, "--tokenizer-dir", tokenizerDir], { encoding: "utf8" });
  if (made.status !== 0) throw new Error(`make-tiny-model failed: ${made.stderr}`);

  // 1. Learner steps.
  const steps: { pack: number; head: string; tokens_per_second: number; seconds: number; peak_rss_mb: number }[] = [];
  for (const pack of PACKS) {
    for (const head of ["chunked", "dense"] as const) {
      if (head === "dense" && pack > DENSE_MAX) continue;
      const chunk = head === "chunked" ? 1024 : pack;
      const r = spawnSync(python, [join(import.meta.dirname, "learner_step.py"), modelDir, String(pack), String(chunk)], { encoding: "utf8" });
      if (r.status !== 0) throw new Error(`learner step failed (${pack}, ${head}): ${r.stderr.slice(-2000)}`);
      const m = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { tokens_per_second: number; seconds: number; peak_rss_mb: number };
      steps.push({ pack, head, ...m });
      if (!values.json) console.error(`pack ${pack}, ${head} head: ${m.tokens_per_second.toFixed(1)} tokens/s, ${m.seconds.toFixed(1)} s, peak ${m.peak_rss_mb.toFixed(0)} MB`);
    }
  }

  // 2. Token bookkeeping per turn next to the inference round trip.
  const tok = await loadHfTokenizer(tokenizerDir);
  const codec = promptCodecFor(tok);
  const sampled = tok.encode("Let me look.\n</think>\n\n<tool_call>\n<function=bash>\n<parameter=command>\nls -la /app\n</parameter>\n</function>\n</tool_call><|im_end|>", { addSpecialTokens: false });
  const observation = "total 12\ndrwxr-xr-x 2 root root 4096 Dec  1 10:00 .\n".repeat(40);
  const server = await startScriptedTokenServer(() => ({ ids: sampled }));
  const client = new CompletionsTokenClient({ baseUrl: server.url, model: "bench" });
  const bookkeeping: number[] = [];
  const roundTrips: number[] = [];
  let stream = codec.promptIds([{ role: "system", content: SYSTEM_PROMPT }, { role: "user", content: instanceMessage("Bench.") }], [BASH_TOOL]);
  for (let t = 0; t < TURNS; t++) {
    const a = performance.now();
    await client.sample({ promptIds: stream, maxTokens: 16_384, temperature: 1, topP: 1, seed: 42, group: "bench", policyVersion: 0 });
    roundTrips.push(performance.now() - a);
    const b = performance.now();
    const text = codec.decode(sampled);
    const appended = codec.encode(codec.wrapObservations([observation]));
    stream = [...stream, ...sampled, ...appended];
    bookkeeping.push(performance.now() - b);
    if (text.length === 0) throw new Error("decode gave nothing");
  }
  await server.close();
  const turn = { bookkeeping_ms_p50: median(bookkeeping), inference_round_trip_ms_p50: median(roundTrips), final_stream_tokens: stream.length };
  const result = { steps, turn, ratio_bookkeeping_to_round_trip: turn.bookkeeping_ms_p50 / turn.inference_round_trip_ms_p50 };
  if (values.json) console.log(JSON.stringify(result, null, 2));
  else {
    console.log("learner step (tiny model, CPU, one packed row):");
    for (const s of steps) console.log(`  pack ${s.pack}  ${s.head.padEnd(7)}  ${s.tokens_per_second.toFixed(1).padStart(7)} tokens/s  peak ${s.peak_rss_mb.toFixed(0)} MB`);
    console.log(
      `per rollout turn: decode + wrap + tokenize ${turn.bookkeeping_ms_p50.toFixed(2)} ms (p50) next to ${turn.inference_round_trip_ms_p50.toFixed(2)} ms ` +
        `for an instant local inference round trip — ${result.ratio_bookkeeping_to_round_trip.toFixed(2)}× (stream of ${turn.final_stream_tokens} tokens at the end)`,
    );
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

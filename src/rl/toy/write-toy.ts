import { chmod, mkdir, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { loadHfTokenizer } from "../../model/hf/hf-tokenizer.js";
import { writeTrimmedTokenizer } from "../../model/hf/trim-vocab.js";
import { promptCodecFor } from "../prompt-codec.js";
import { toyDemoLine, toyDrillLine } from "./toy-demos.js";
import { toyTaskFiles, toyTasks, type ToyTask } from "./toy-family.js";
import { toyVocabularyCorpus } from "./toy-vocab.js";

export interface ToyFamilyCounts {
  train: number;
  eval: number;
  demos: number;
  /** Vocabulary tokens of the trimmed tokenizer (special tokens not counted). */
  vocab: number;
}

/**
 * Writes the toy family under `out`: `tokenizer/` (the tokenizer of `tokenizerDir` trimmed to what the toy
 * episodes use: the toy model's vocabulary), `train/` and `eval/` (one Harbor task dir per instance; the dirs are
 * replaced, so no stale task survives) and `demos.jsonl` (the demo split's scripted demonstrations as token streams
 * rendered with the trimmed tokenizer) with `drills.jsonl` (their commands after the bare instruction). The same
 * seed and source tokenizer write the same bytes.
 */
export async function writeToyFamily(out: string, tokenizerDir: string, seed = 7): Promise<ToyFamilyCounts> {
  const tasks = toyTasks(seed);
  const full = promptCodecFor(await loadHfTokenizer(tokenizerDir));
  const vocab = await writeTrimmedTokenizer(tokenizerDir, join(out, "tokenizer"), toyVocabularyCorpus(tasks, full));
  const codec = promptCodecFor(await loadHfTokenizer(join(out, "tokenizer")));
  const of = (split: ToyTask["split"]): ToyTask[] => tasks.filter((t) => t.split === split);
  for (const split of ["train", "eval"] as const) {
    await rm(join(out, split), { recursive: true, force: true });
    for (const task of of(split)) {
      for (const [rel, text] of Object.entries(toyTaskFiles(task))) {
        const path = join(out, split, task.name, rel);
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, text);
        await chmod(path, rel.endsWith(".sh") ? 0o755 : 0o644);
      }
    }
  }
  const demos = of("demo").map((t) => JSON.stringify(toyDemoLine(t, codec)));
  const drills = of("demo").map((t) => JSON.stringify(toyDrillLine(t, codec)));
  await mkdir(out, { recursive: true });
  await writeFile(join(out, "demos.jsonl"), demos.join("\n") + "\n");
  await writeFile(join(out, "drills.jsonl"), drills.join("\n") + "\n");
  return { train: of("train").length, eval: of("eval").length, demos: demos.length, vocab };
}

import { chmod, mkdir, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { PromptCodec } from "../token-policy.js";
import { toyDemoLine } from "./toy-demos.js";
import { toyTaskFiles, toyTasks, type ToyTask } from "./toy-family.js";

export interface ToyFamilyCounts {
  train: number;
  eval: number;
  demos: number;
}

/**
 * Writes the toy family under `out`: `train/` and `eval/` (one Harbor task dir per instance; the dirs are replaced,
 * so no stale task survives) and `demos.jsonl` (the demo split's scripted demonstrations as token streams rendered
 * with `codec`). The same seed and codec write the same bytes.
 */
export async function writeToyFamily(out: string, codec: PromptCodec, seed = 7): Promise<ToyFamilyCounts> {
  const tasks = toyTasks(seed);
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
  await mkdir(out, { recursive: true });
  await writeFile(join(out, "demos.jsonl"), demos.join("\n") + "\n");
  return { train: of("train").length, eval: of("eval").length, demos: demos.length };
}

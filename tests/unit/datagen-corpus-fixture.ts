import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { writeTaskDir, taskDirName, type GeneratedParts } from "../../src/datagen/compose.js";
import { appendManifest } from "../../src/datagen/corpus-write.js";
import { sampleSpec } from "../../src/datagen/sample.js";
import { loadTaxonomy } from "../../src/datagen/taxonomy.js";
import type { ManifestEntry, TaskSpec, ValidationRecord } from "../../src/store/corpus-schema.js";
import { tempDir } from "../helpers/task-fixture.js";

/** Small generated corpora for the datagen unit tests (not a test file itself). */

const taxonomy = loadTaxonomy();

export function specs(n: number, seed = 99): TaskSpec[] {
  return Array.from({ length: n }, (_, i) => sampleSpec(taxonomy, "legacy", seed, i));
}

export function parts(i: number, instruction = `Task ${i}: count the lines of /app/input.txt and write the number to /app/out.txt.\n`): GeneratedParts {
  return {
    task: { summary: `Summary ${i}`, instruction, truth: `Truth ${i}` },
    environment: { dockerfileBody: `RUN echo ${i} > /app/input.txt\n`, files: {}, initialTest: "def test_initial():\n    assert True\n" },
    tests: { finalTest: "def test_final():\n    assert True\n" },
    solution: { solveSh: "#!/bin/bash\necho 1 > /app/out.txt\n" },
  };
}

export const VALIDATION: ValidationRecord = { image_built: true, build_s: 3.5, initial_tests: "passed", nop_reward: 0, oracle_reward: 1, rounds: 1, repairs: 0 };

/** A manifest line for a spec (accepted with its task dir name unless overridden). */
export function entry(spec: TaskSpec, over: Partial<ManifestEntry> = {}): ManifestEntry {
  return {
    spec_id: spec.id,
    index: spec.index,
    status: "accepted",
    reason: null,
    stage: null,
    detail: null,
    task: taskDirName(spec),
    model: "gen-model",
    tokens: { prompt: 100, completion: 10 },
    cost_usd: 0.01,
    timings: { generation_s: 1, validation_s: 2, total_s: 3 },
    calls: { task: 1, environment: 1, tests: 1, solution: 1 },
    repairs: 0,
    validation: VALIDATION,
    stages_passed: ["task", "environment", "tests", "solution", "build", "initial_tests", "nop", "oracle"],
    spec,
    finished_at: "2026-01-01T00:00:00.000000Z",
    ...over,
  };
}

/**
 * A corpus directory: each spec accepted (task dir + manifest line), unless `rejected` names it; instructions may be
 * given per spec index.
 */
export async function makeCorpus(list: TaskSpec[], o: { rejected?: Set<string>; instructions?: Record<number, string> } = {}): Promise<string> {
  const corpus = join(tempDir("tmax-corpus-unit-"), "corpus");
  mkdirSync(corpus, { recursive: true });
  for (const [i, spec] of list.entries()) {
    if (o.rejected?.has(spec.id)) {
      appendManifest(corpus, entry(spec, { status: "rejected", reason: "build_failed", stage: "environment", detail: "no", task: null, validation: null, stages_passed: ["task", "environment", "tests", "solution"] }));
      continue;
    }
    await writeTaskDir(join(corpus, taskDirName(spec)), spec, parts(i, o.instructions?.[i]), { model: "gen-model", costUsd: 0.01, promptTokens: 100, completionTokens: 10, validation: VALIDATION });
    appendManifest(corpus, entry(spec));
  }
  return corpus;
}


import { createHash } from "node:crypto";
import { uniformFloat64 } from "pure-rand/distribution/uniformFloat64";
import { uniformInt } from "pure-rand/distribution/uniformInt";
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";
import type { TaskSpec } from "../store/corpus-schema.js";
import type { Taxonomy } from "./taxonomy.js";

type Rng = ReturnType<typeof xoroshiro128plus>;

function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[uniformInt(rng, 0, xs.length - 1)]!;
}

function weighted<T>(rng: Rng, xs: readonly T[], weights: readonly number[]): T {
  const total = weights.reduce((a, b) => a + b, 0);
  let x = uniformFloat64(rng) * total;
  for (let i = 0; i < xs.length; i++) {
    x -= weights[i]!;
    if (x < 0) return xs[i]!;
  }
  return xs[xs.length - 1]!;
}

/** k distinct items, in draw order (partial Fisher-Yates). */
function sampleDistinct<T>(rng: Rng, xs: readonly T[], k: number): T[] {
  const pool = [...xs];
  const out: T[] = [];
  for (let i = 0; i < k && pool.length > 0; i++) {
    const j = uniformInt(rng, 0, pool.length - 1);
    out.push(pool[j]!);
    pool[j] = pool[pool.length - 1]!;
    pool.pop();
  }
  return out;
}

/**
 * Weights over an axis whose first value is the legacy one: multiplier M gives each of the K new values M/K and the
 * legacy value 1 (P(new) = M/(M+1)); "inf" = only new values; null = only the legacy value.
 */
function bucketWeights(count: number, m: number | "inf" | null): number[] {
  const rest = (w: number): number[] => new Array<number>(count - 1).fill(w);
  if (m === null) return [1, ...rest(0)];
  if (m === "inf") return [0, ...rest(1)];
  return [1, ...rest(m / (count - 1))];
}

/**
 * Weights over task complexity (last value = the intricate one): [1/3, 1/3, 1/3, M] → P(last) = M/(M+1); "inf" = only
 * the last; null (legacy) = uniform over the others.
 */
function complexityWeights(count: number, m: number | "inf" | null): number[] {
  const others = count - 1;
  const first = (w: number): number[] => new Array<number>(others).fill(w);
  if (m === null) return [...first(1 / others), 0];
  if (m === "inf") return [...first(0), 1];
  return [...first(1 / others), m];
}

/** The spec's own seed: the first 4 bytes of sha256("<seed>:<index>"). */
function specSeed(seed: number, index: number): number {
  return createHash("sha256").update(`${seed}:${index}`).digest().readUInt32BE(0);
}

/** Draws spec number `index` of a run. Same (taxonomy, corpus kind, seed, index) → same spec. */
export function sampleSpec(t: Taxonomy & { digest: string }, corpusKind: string, seed: number, index: number): TaskSpec {
  const kind = t.corpus_kinds[corpusKind];
  if (!kind) throw new Error(`unknown corpus kind "${corpusKind}"`);
  const s = specSeed(seed, index);
  const rng = xoroshiro128plus(s);
  // Draw order: domain, skill type, k and skills, complexity/verifier/fixture, command complexity, persona,
  // language, anchor coin + anchor.
  const domain = pick(rng, t.domains);
  const skillType = pick(rng, domain.skill_types);
  const k = uniformInt(rng, t.skills_per_task.min, t.skills_per_task.max);
  const allSkills = [...new Set(domain.skill_types.flatMap((st) => st.skills))];
  const skills = sampleDistinct(rng, allSkills, k);
  const complexity = weighted(rng, t.task_complexity, complexityWeights(t.task_complexity.length, kind.complexity));
  const verifier = weighted(rng, t.verifier_kinds, bucketWeights(t.verifier_kinds.length, kind.verifier));
  const fixture = weighted(rng, t.fixture_kinds, bucketWeights(t.fixture_kinds.length, kind.fixture));
  const command = pick(rng, t.command_complexity);
  const persona = pick(rng, domain.personas);
  const language = weighted(rng, t.languages, t.languages.map((l) => l.weight));
  const anchor = uniformFloat64(rng) < t.anchor_probability ? pick(rng, domain.anchors) : null;
  const hex = createHash("sha256").update(`${t.digest}:${corpusKind}:${seed}:${index}`).digest("hex").slice(0, 8);
  return {
    id: `spec_${String(index).padStart(6, "0")}_${hex}`,
    index,
    seed,
    spec_seed: s,
    corpus_kind: corpusKind,
    taxonomy: t.digest,
    domain: domain.name,
    skill_type: skillType.name,
    skills,
    task_complexity: complexity.name,
    command_complexity: command.name,
    verifier_kind: verifier.name,
    fixture_kind: fixture.name,
    persona,
    language: language.name,
    anchor,
  };
}

/** Specs `start .. start+n-1` of a run. */
export function sampleSpecs(t: Taxonomy & { digest: string }, corpusKind: string, seed: number, n: number, start = 0): TaskSpec[] {
  const out: TaskSpec[] = [];
  for (let i = start; i < start + n; i++) out.push(sampleSpec(t, corpusKind, seed, i));
  return out;
}

/** The axis values of a spec, by axis name (skills expanded), for marginals and reports. */
export const SPEC_AXES = [
  "domain",
  "skill_type",
  "skills",
  "task_complexity",
  "command_complexity",
  "verifier_kind",
  "fixture_kind",
  "persona",
  "language",
  "anchor",
] as const;
export type SpecAxis = (typeof SPEC_AXES)[number];

export function axisValues(spec: TaskSpec, axis: SpecAxis): string[] {
  if (axis === "skills") return spec.skills;
  if (axis === "anchor") return [spec.anchor === null ? "(none)" : spec.anchor];
  return [String(spec[axis])];
}

/** Share of specs per value of an axis (for skills: share of specs that include the skill). */
export function marginals(specs: TaskSpec[], axis: SpecAxis): Map<string, number> {
  const counts = new Map<string, number>();
  for (const s of specs) for (const v of axisValues(s, axis)) counts.set(v, (counts.get(v) ?? 0) + 1);
  return new Map([...counts.entries()].map(([k, v]) => [k, v / Math.max(1, specs.length)]));
}

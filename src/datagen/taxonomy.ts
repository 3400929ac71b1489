import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { z } from "zod";

/**
 * The task taxonomy: the nine sampled axes with their values, domain conditioning, weights and corpus kinds. It is a
 * data file (data/taxonomy.json) that users can edit or replace; it is validated on load.
 */

const named = z.object({ name: z.string().min(1), description: z.string().min(1) });

const skillTypeSchema = z.object({
  name: z.string().min(1),
  skills: z.array(z.string().min(1)).min(1),
});

const domainSchema = z.object({
  name: z.string().regex(/^[a-z][a-z0-9_]*$/, "domain names are snake_case identifiers"),
  /** A few words on what tasks in this domain are about, for the task author's system prompt. */
  focus: z.array(z.string().min(1)).min(1),
  skill_types: z.array(skillTypeSchema).min(1),
  /** Specific roles of the people who would ask for such a task. */
  personas: z.array(z.string().min(1)).min(1),
  /** Concrete real-software situations (inspiration only). */
  anchors: z.array(z.string().min(1)).min(1),
});

/** Up-weighting multiplier M: P(new value) = M/(M+1); "inf" = always a new value; null = legacy behaviour. */
const multiplier = z.union([z.number().positive(), z.literal("inf"), z.null()]);

const corpusKindSchema = z.object({
  description: z.string().min(1),
  complexity: multiplier,
  verifier: multiplier,
  fixture: multiplier,
});

const taxonomySchema = z
  .object({
    version: z.number().int().positive(),
    domains: z.array(domainSchema).min(1),
    languages: z.array(z.object({ name: z.string().min(1), weight: z.number().positive() })).min(1),
    /** In order; the last value is the one up-weighted by a corpus kind's complexity multiplier. */
    task_complexity: z.array(named).min(2),
    command_complexity: z.array(named).min(1),
    /** The first value is the legacy one (exact_text); the others are the "new" values up-weighted by corpus kinds. */
    verifier_kinds: z.array(named.extend({ truth_requirements: z.string().optional() })).min(2),
    /** The first value is the legacy one (text_only). */
    fixture_kinds: z.array(named).min(2),
    anchor_probability: z.number().min(0).max(1),
    skills_per_task: z.object({ min: z.number().int().positive(), max: z.number().int().positive() }),
    corpus_kinds: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/), corpusKindSchema),
    /** Other spellings accepted for corpus kinds on the command line (e.g. rl -> rl_v2). */
    corpus_aliases: z.record(z.string(), z.string()).default({}),
  })
  .superRefine((t, ctx) => {
    const dup = (xs: string[], path: (string | number)[], what: string): void => {
      const seen = new Set<string>();
      for (const x of xs) {
        if (seen.has(x)) ctx.addIssue({ code: "custom", path, message: `duplicate ${what} "${x}"` });
        seen.add(x);
      }
    };
    dup(t.domains.map((d) => d.name), ["domains"], "domain");
    t.domains.forEach((d, i) => {
      const union = new Set(d.skill_types.flatMap((s) => s.skills));
      if (union.size < t.skills_per_task.max) {
        ctx.addIssue({ code: "custom", path: ["domains", i, "skill_types"], message: `domain "${d.name}" has ${union.size} distinct skills, fewer than skills_per_task.max` });
      }
      dup(d.skill_types.map((s) => s.name), ["domains", i, "skill_types"], "skill type");
    });
    if (t.skills_per_task.min > t.skills_per_task.max) ctx.addIssue({ code: "custom", path: ["skills_per_task"], message: "min > max" });
    for (const [alias, target] of Object.entries(t.corpus_aliases)) {
      if (!t.corpus_kinds[target]) ctx.addIssue({ code: "custom", path: ["corpus_aliases", alias], message: `names unknown corpus kind "${target}"` });
    }
  });

export type Taxonomy = z.infer<typeof taxonomySchema>;

export const DEFAULT_TAXONOMY_PATH = fileURLToPath(new URL("../../data/taxonomy.json", import.meta.url));

export class TaxonomyError extends Error {
  override name = "TaxonomyError";
}

/** Loads and validates a taxonomy file; errors name the file and the JSON path of every problem. */
export function loadTaxonomy(path = DEFAULT_TAXONOMY_PATH): Taxonomy & { digest: string; path: string } {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new TaxonomyError(`${path}: cannot read the taxonomy file`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new TaxonomyError(`${path}: not valid JSON: ${(err as Error).message}`);
  }
  const parsed = taxonomySchema.safeParse(data);
  if (!parsed.success) {
    const lines = parsed.error.issues.slice(0, 20).map((i) => `  ${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new TaxonomyError(`${path}: invalid taxonomy\n${lines.join("\n")}`);
  }
  const digest = createHash("sha256").update(text).digest("hex").slice(0, 12);
  return { ...parsed.data, digest, path };
}

/** The corpus kind a command-line name refers to (aliases resolved), or an error listing the choices. */
export function resolveCorpusKind(t: Taxonomy, name: string): string {
  const kind = t.corpus_aliases[name] ?? name;
  if (!t.corpus_kinds[kind]) {
    const choices = [...Object.keys(t.corpus_kinds), ...Object.keys(t.corpus_aliases)].sort();
    throw new TaxonomyError(`unknown corpus kind "${name}"; choose one of: ${choices.join(", ")}`);
  }
  return kind;
}

/** Counts for documentation and tests. */
export function taxonomyStats(t: Taxonomy): { domains: number; skillTypes: number; skills: number; personas: number; uniquePersonas: number; anchors: number } {
  const skills = t.domains.reduce((n, d) => n + new Set(d.skill_types.flatMap((s) => s.skills)).size, 0);
  return {
    domains: t.domains.length,
    skillTypes: t.domains.reduce((n, d) => n + d.skill_types.length, 0),
    skills,
    personas: t.domains.reduce((n, d) => n + d.personas.length, 0),
    uniquePersonas: new Set(t.domains.flatMap((d) => d.personas)).size,
    anchors: t.domains.reduce((n, d) => n + d.anchors.length, 0),
  };
}

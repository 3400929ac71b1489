import { writeFileAtomic } from "../util/atomic-write.js";
import { formatPythonFloat } from "../util/python-float.js";

/**
 * Harbor's documents as Harbor writes them: 4-space JSON where the fields its pydantic models type as `float` are
 * written as floats (`1.0`, not `1`). JavaScript has one number type, so JSON.stringify writes 1; Harbor then reads
 * an int, and e.g. groups a reward read back as "1" instead of "1.0" (reward_stats keys). Which fields are floats is
 * decided by name, as Harbor's models declare them; user data (agent kwargs, env, metadata, extra) is written as is.
 */

/** Which numbers of a document are floats: by field name, maps/lists of floats, and user data kept as given. */
interface FloatRules {
  fields: ReadonlySet<string>;
  maps: ReadonlySet<string>;
  opaque: ReadonlySet<string>;
}

/** Fields Harbor types as `float` (or `float | None`) in job/trial configs, results and locks. */
const FLOAT_FIELDS = new Set([
  "timeout_multiplier",
  "agent_timeout_multiplier",
  "verifier_timeout_multiplier",
  "agent_setup_timeout_multiplier",
  "environment_build_timeout_multiplier",
  "override_timeout_sec",
  "override_setup_timeout_sec",
  "max_timeout_sec",
  "wait_multiplier",
  "min_wait_sec",
  "max_wait_sec",
  "cost_usd",
]);

/**
 * Maps and lists whose numbers are floats: rewards (a reward.txt is always a float), pass@k, each metric's figures,
 * and the logprobs of rollout details.
 */
const FLOAT_MAPS = new Set(["rewards", "pass_at_k", "metrics", "logprobs"]);

/** Values kept exactly as given: what users and agents put there. */
const OPAQUE = new Set(["kwargs", "env", "metadata", "extra"]);

const DOCUMENTS: FloatRules = { fields: FLOAT_FIELDS, maps: FLOAT_MAPS, opaque: OPAQUE };

/** An ATIF trajectory: costs and logprobs are floats (its per-step `metrics` hold token counts, ints). */
const ATIF: FloatRules = {
  fields: new Set(["cost_usd", "total_cost_usd"]),
  maps: new Set(["logprobs"]),
  opaque: new Set(["extra", "arguments", "tool_definitions"]),
};

type Mode = "plain" | "harbor" | "floats";

function number(x: number, asFloat: boolean): string {
  if (!Number.isFinite(x)) return "null"; // as JSON.stringify
  return asFloat ? formatPythonFloat(x) : JSON.stringify(x);
}

function write(value: unknown, rules: FloatRules, mode: Mode, asFloat: boolean, indent: string, step: string): string | undefined {
  if (value === null) return "null";
  if (typeof value === "number") return number(value, asFloat);
  if (typeof value === "string" || typeof value === "boolean") return JSON.stringify(value);
  if (typeof value !== "object") return undefined; // undefined, functions: left out, as JSON.stringify does
  const inner = indent + step;
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    // Lists keep their owner's rule: `metrics` (a list of dicts of floats), `logprobs` (lists of floats).
    const items = value.map((v) => write(v, rules, mode, mode === "floats", inner, step) ?? "null");
    return `[\n${items.map((s) => inner + s).join(",\n")}\n${indent}]`;
  }
  const entries: string[] = [];
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    let childMode: Mode = mode;
    let childFloat = false;
    if (mode !== "plain" && rules.opaque.has(key)) {
      childMode = "plain";
    } else if (mode === "harbor") {
      if (rules.maps.has(key)) childMode = "floats";
      else childFloat = rules.fields.has(key);
    } else if (mode === "floats") {
      childFloat = true;
    }
    const text = write(v, rules, childMode, childFloat, inner, step);
    if (text !== undefined) entries.push(`${inner}${JSON.stringify(key)}: ${text}`);
  }
  return entries.length === 0 ? "{}" : `{\n${entries.join(",\n")}\n${indent}}`;
}

/** A Harbor document (job or trial config, result, lock) as Harbor writes it (4-space indent), with a trailing newline. */
export function harborJsonText(value: unknown): string {
  return (write(value, DOCUMENTS, "harbor", false, "", "    ") ?? "null") + "\n";
}

/** An ATIF trajectory as Harbor's agents write it (2-space indent), with a trailing newline. */
export function atifJsonText(value: unknown): string {
  return (write(value, ATIF, "harbor", false, "", "  ") ?? "null") + "\n";
}

export async function writeHarborJson(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, harborJsonText(value));
}

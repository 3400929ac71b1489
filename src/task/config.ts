import { TomlError } from "smol-toml";
import { z } from "zod";
import { hostLimitProblem, sizeLimitProblem, type HostCapacity } from "./limits.js";
import { parseTomlDocument } from "../util/toml.js";
import { parseSizeToMb } from "./sizes.js";
import { tomlField, type TaskProblem } from "./problems.js";
import { resolveNetworkPolicy, type TaskNetworkPolicy } from "./network-policy.js";

/**
 * task.toml in both Harbor generations: TB2-era (`version`, `memory = "2G"`, 600 s agent timeout) and current
 * (`schema_version`, `memory_mb`, agent timeout null = none). Unknown keys are ignored, `[metadata]` is kept as is.
 */

/**
 * A numeric field. Integers beyond 2^53 arrive as BigInt (util/toml.ts) and are taken as the nearest number, as
 * Harbor takes them; BigInts elsewhere (`[metadata]`, keys tmax does not know) are kept as they are.
 */
const tomlNumber = <T extends z.ZodNumber>(schema: T) => z.preprocess((v) => (typeof v === "bigint" ? Number(v) : v), schema);
/** An integer field: any integer, as in Harbor (zod's int() stops at 2^53). */
const tomlInteger = (schema: z.ZodNumber, error = "must be an integer") => tomlNumber(schema.refine(Number.isInteger, { error }));

const seconds = tomlNumber(z.number({ error: "must be a number of seconds" }).nonnegative({ error: "must be >= 0" }));
const stringMap = z.record(z.string(), z.string({ error: "values must be strings" }), {
  error: "must be a table of string values",
});
const userSpec = z.union([z.string(), tomlInteger(z.number())], { error: "must be a user name or a numeric uid" }).nullable();
const nameRe = /^[a-zA-Z0-9][a-zA-Z0-9._-]*$/;
/** Harbor's network modes (schema 1.3+); entries of allowed_hosts are checked after the schema (network-policy.ts). */
const networkMode = z.enum(["public", "no-network", "allowlist"], { error: 'must be "public", "no-network" or "allowlist"' });
const allowedHosts = z.array(z.string({ error: "entries must be strings" }), { error: "must be an array of host names" });

const healthcheckSchema = z.object({
  command: z.string(),
  interval_sec: seconds.default(5),
  timeout_sec: seconds.default(30),
  start_period_sec: seconds.default(0),
  start_interval_sec: seconds.default(5),
  retries: tomlInteger(z.number().nonnegative()).default(3),
});

const mcpServerSchema = z.looseObject({
  name: z.string(),
  transport: z.enum(["sse", "streamable-http", "stdio"]).default("sse"),
  url: z.string().optional(),
  command: z.string().optional(),
  args: z.array(z.string()).default([]),
});

const environmentSchema = z.looseObject({
  build_timeout_sec: seconds.optional(),
  docker_image: z.string().nullable().optional(),
  os: z.enum(["linux", "windows"], { error: 'must be "linux" or "windows"' }).optional(),
  cpus: tomlInteger(z.number({ error: "must be an integer number of CPUs" }).positive({ error: "must be > 0" })).nullable().optional(),
  memory: z.string({ error: 'must be a size string such as "2G"' }).optional(),
  storage: z.string({ error: 'must be a size string such as "10G"' }).optional(),
  memory_mb: tomlInteger(z.number({ error: "must be an integer number of megabytes" }).positive({ error: "must be > 0" })).nullable().optional(),
  storage_mb: tomlInteger(z.number({ error: "must be an integer number of megabytes" }).positive({ error: "must be > 0" })).nullable().optional(),
  allow_internet: z.boolean({ error: "must be true or false" }).optional(),
  network_mode: networkMode.optional(),
  allowed_hosts: allowedHosts.nullable().optional(),
  env: stringMap.optional(),
  workdir: z.string().nullable().optional(),
  gpus: tomlInteger(z.number().nonnegative()).nullable().optional(),
  gpu_types: z.array(z.string()).nullable().optional(),
  skills_dir: z.string().nullable().optional(),
  tpu: z.record(z.string(), z.unknown()).nullable().optional(),
  healthcheck: healthcheckSchema.nullable().optional(),
  mcp_servers: z.array(mcpServerSchema).optional(),
});

const taskTomlSchema = z.looseObject({
  version: z.string({ error: 'must be a string such as "1.0"' }).optional(),
  schema_version: z.string({ error: 'must be a string such as "1.1"' }).optional(),
  source: z.string().nullable().optional(),
  multi_step_reward_strategy: z.enum(["mean", "final"]).nullable().optional(),
  steps: z.array(z.record(z.string(), z.unknown())).nullable().optional(),
  artifacts: z
    .array(
      z.union([
        z.string(),
        z.object({ source: z.string(), destination: z.string().nullable().optional(), exclude: z.array(z.string()).default([]) }),
      ]),
    )
    .optional(),
  task: z
    .looseObject({
      name: z
        .string({ error: "is required when [task] is present" })
        .refine((v) => {
          const parts = v.split("/");
          return parts.length === 2 && parts.every((p) => nameRe.test(p) && !p.includes(".."));
        }, 'must look like "org/name" (letters, digits, ".", "_", "-")'),
      description: z.string().default(""),
      authors: z.array(z.object({ name: z.string(), email: z.string().nullable().optional() })).default([]),
      keywords: z.array(z.string()).default([]),
    })
    .optional(),
  metadata: z.record(z.string(), z.unknown(), { error: "must be a table" }).optional(),
  verifier: z
    .looseObject({
      timeout_sec: seconds.optional(),
      env: stringMap.optional(),
      user: userSpec.optional(),
      environment_mode: z.enum(["shared", "separate"]).nullable().optional(),
      environment: z.record(z.string(), z.unknown()).nullable().optional(),
      network_mode: networkMode.nullable().optional(),
      allowed_hosts: allowedHosts.nullable().optional(),
    })
    .optional(),
  agent: z
    .looseObject({
      timeout_sec: seconds.nullable().optional(),
      user: userSpec.optional(),
      network_mode: networkMode.nullable().optional(),
      allowed_hosts: allowedHosts.nullable().optional(),
    })
    .optional(),
  solution: z.looseObject({ env: stringMap.optional() }).optional(),
  environment: environmentSchema.optional(),
});

export type RawTaskToml = z.infer<typeof taskTomlSchema>;
export type Artifact = string | { source: string; destination?: string | null; exclude?: string[] };

export interface Healthcheck {
  command: string;
  intervalSec: number;
  timeoutSec: number;
  startPeriodSec: number;
  startIntervalSec: number;
  retries: number;
}

/** The normalized task configuration the runner works with. */
export interface TaskConfig {
  /** "tb2" when the file uses the TB2-era `version` key, else "current". Decides the defaults. */
  generation: "tb2" | "current";
  schemaVersion: string;
  source: string | null;
  task: { name: string; description: string; authors: { name: string; email?: string | null }[]; keywords: string[] } | null;
  metadata: Record<string, unknown>;
  artifacts: Artifact[];
  multiStepRewardStrategy: "mean" | "final" | null;
  steps: Record<string, unknown>[] | null;
  verifier: {
    timeoutSec: number;
    env: Record<string, string>;
    user: string | number | null;
    environmentMode: "shared" | "separate" | null;
    environment: Record<string, unknown> | null;
  };
  agent: { timeoutSec: number | null; user: string | number | null };
  solution: { env: Record<string, string> };
  environment: {
    buildTimeoutSec: number;
    dockerImage: string | null;
    os: "linux" | "windows";
    cpus: number | null;
    memoryMb: number | null;
    storageMb: number | null;
    /** The deprecated `allow_internet` key as written (true when absent); `network` is what the runner applies. */
    allowInternet: boolean;
    /** What the container may reach: `network_mode` / `allowed_hosts`, else `allow_internet`, as Harbor resolves them. */
    network: TaskNetworkPolicy;
    env: Record<string, string>;
    workdir: string | null;
    gpus: number | null;
    gpuTypes: string[] | null;
    skillsDir: string | null;
    healthcheck: Healthcheck | null;
    mcpServers: Record<string, unknown>[];
  };
}

export const DEFAULT_TIMEOUT_SEC = 600;

type ParseOutcome = { config: TaskConfig; problems: TaskProblem[] } | { config: null; problems: TaskProblem[] };

export interface ParseOptions {
  /** When given, resource limits beyond this host are reported as warnings (as `tasks check` does). */
  host?: HostCapacity;
}

/** Parses task.toml text. `file` is used in problem reports only. */
export function parseTaskToml(text: string, file = "task.toml", opts: ParseOptions = {}): ParseOutcome {
  let data: unknown;
  try {
    data = parseTomlDocument(text);
  } catch (err) {
    const where = err instanceof TomlError ? ` (line ${err.line}, column ${err.column})` : "";
    const first = (err instanceof Error ? err.message : String(err)).split("\n")[0];
    return { config: null, problems: [{ file, message: `not valid TOML${where}: ${first}`, severity: "error" }] };
  }
  const parsed = taskTomlSchema.safeParse(data);
  if (!parsed.success) {
    const problems: TaskProblem[] = parsed.error.issues.map((issue) => ({
      file,
      field: tomlField(issue.path),
      message: describeIssue(issue, data),
      severity: "error" as const,
    }));
    // Sizes and their limits are checked after the schema; check them here too so every problem is reported at once.
    const env = (data as { environment?: unknown }).environment;
    if (env && typeof env === "object") {
      const e = env as Record<string, unknown>;
      const text = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
      // Megabytes the schema accepted (it reports the others).
      const mb = (v: unknown): number | undefined => (Number.isSafeInteger(v) && (v as number) > 0 ? (v as number) : undefined);
      const sizeOnly = { memory: text(e.memory), storage: text(e.storage), memory_mb: mb(e.memory_mb), storage_mb: mb(e.storage_mb) };
      sizeField(sizeOnly, "memory", "memory_mb", file, problems, opts.host);
      sizeField(sizeOnly, "storage", "storage_mb", file, problems, opts.host);
    }
    return { config: null, problems };
  }
  return normalize(parsed.data, file, opts.host);
}

const EXPECTED: Record<string, string> = {
  number: "a number",
  int: "an integer",
  string: "a string",
  boolean: "true or false",
  object: "a table",
  record: "a table",
  array: "an array",
};

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = data;
  for (const k of path) v = v && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

/** A value as written in TOML (JSON would show inf and nan as null; BigInts, integers beyond 2^53, as their digits). */
function tomlValue(value: unknown): string {
  if (typeof value === "number" && !Number.isFinite(value)) return Number.isNaN(value) ? "nan" : value > 0 ? "inf" : "-inf";
  return typeof value === "bigint" ? String(value) : JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? String(v) : v));
}

/** A zod issue as a task author would want to read it, including the offending value. */
function describeIssue(issue: z.core.$ZodIssue, data: unknown): string {
  const value = valueAt(data, issue.path);
  const got = value === undefined ? "nothing" : tomlValue(value);
  if (issue.code === "invalid_type") {
    const custom = issue.message.startsWith("Invalid input") ? null : issue.message;
    return `${custom ?? `expected ${EXPECTED[issue.expected] ?? issue.expected}`} (got ${got})`;
  }
  if (issue.code === "invalid_union") return `has an unsupported form (got ${got})`;
  if (issue.code === "invalid_value") return `${issue.message} (got ${got})`;
  return `${issue.message} (got ${got})`;
}

/**
 * The limit `key` or its legacy string form `legacyKey` sets, in MB (undefined = not set, or a problem was reported):
 * the two must agree, and the value must be one a container can be given.
 */
function sizeField(
  env: { memory?: string; storage?: string; memory_mb?: number | null; storage_mb?: number | null },
  legacyKey: "memory" | "storage",
  key: "memory_mb" | "storage_mb",
  file: string,
  problems: TaskProblem[],
  host?: HostCapacity,
): number | null | undefined {
  let legacy: number | undefined;
  const legacyText = env[legacyKey];
  if (legacyText !== undefined) {
    try {
      legacy = parseSizeToMb(legacyText);
    } catch (err) {
      problems.push({ file, field: `[environment].${legacyKey}`, message: (err as Error).message, severity: "error" });
      return undefined;
    }
  }
  const modern = env[key];
  if (legacy !== undefined && modern !== undefined && modern !== null && modern !== legacy) {
    problems.push({
      file,
      field: `[environment].${key}`,
      message: `conflicts with [environment].${legacyKey} = "${legacyText}" (${legacy} MB); set only one of them`,
      severity: "error",
    });
    return undefined;
  }
  const mb = legacy ?? modern;
  if (mb === undefined || mb === null) return mb;
  const field = `[environment].${legacy !== undefined ? legacyKey : key}`;
  const shown = legacy !== undefined ? `"${legacyText}"${Number.isFinite(mb) ? ` (${mb} MB)` : ""}` : `${mb} MB`;
  const invalid = sizeLimitProblem(legacyKey, mb);
  if (invalid) {
    problems.push({ file, field, message: `${shown} is ${invalid}`, severity: "error" });
    return undefined;
  }
  const beyondHost = host && legacyKey === "memory" ? hostLimitProblem("memory", mb, host) : null;
  if (beyondHost) problems.push({ file, field, message: `${shown} is ${beyondHost}`, severity: "warning" });
  return mb;
}

function normalize(raw: RawTaskToml, file: string, host: HostCapacity | undefined): ParseOutcome {
  const problems: TaskProblem[] = [];
  const generation = raw.version !== undefined && raw.schema_version === undefined ? "tb2" : "current";
  const tb2 = generation === "tb2";
  const env = raw.environment ?? {};
  const memoryMb = sizeField(env, "memory", "memory_mb", file, problems, host);
  const storageMb = sizeField(env, "storage", "storage_mb", file, problems, host);
  const network = resolveNetworkPolicy(raw, file, problems);
  if (!network || problems.some((p) => p.severity === "error")) return { config: null, problems };

  const agentTimeout = raw.agent?.timeout_sec;
  const hc = env.healthcheck;
  const config: TaskConfig = {
    generation,
    schemaVersion: raw.schema_version ?? raw.version ?? (tb2 ? "1.0" : "1.1"),
    source: raw.source ?? null,
    task: raw.task
      ? { name: raw.task.name, description: raw.task.description, authors: raw.task.authors, keywords: raw.task.keywords }
      : null,
    metadata: raw.metadata ?? {},
    artifacts: raw.artifacts ?? [],
    multiStepRewardStrategy: raw.multi_step_reward_strategy ?? null,
    steps: raw.steps ?? null,
    verifier: {
      timeoutSec: raw.verifier?.timeout_sec ?? DEFAULT_TIMEOUT_SEC,
      env: raw.verifier?.env ?? {},
      user: raw.verifier?.user ?? null,
      environmentMode: raw.verifier?.environment_mode ?? null,
      environment: raw.verifier?.environment ?? null,
    },
    agent: {
      // TB2-era default is 600 s; current Harbor treats an absent or null timeout as "no timeout".
      timeoutSec: agentTimeout === undefined ? (tb2 ? DEFAULT_TIMEOUT_SEC : null) : agentTimeout,
      user: raw.agent?.user ?? null,
    },
    solution: { env: raw.solution?.env ?? {} },
    environment: {
      buildTimeoutSec: env.build_timeout_sec ?? DEFAULT_TIMEOUT_SEC,
      dockerImage: env.docker_image ?? null,
      os: env.os ?? "linux",
      cpus: env.cpus === undefined ? (tb2 ? 1 : null) : env.cpus,
      memoryMb: memoryMb === undefined ? (tb2 ? 2048 : null) : memoryMb,
      storageMb: storageMb === undefined ? (tb2 ? 10240 : null) : storageMb,
      allowInternet: env.allow_internet ?? true,
      network,
      env: env.env ?? {},
      workdir: env.workdir ?? null,
      gpus: env.gpus ?? null,
      gpuTypes: env.gpu_types ?? null,
      skillsDir: env.skills_dir ?? null,
      healthcheck: hc
        ? {
            command: hc.command,
            intervalSec: hc.interval_sec,
            timeoutSec: hc.timeout_sec,
            startPeriodSec: hc.start_period_sec,
            startIntervalSec: hc.start_interval_sec,
            retries: hc.retries,
          }
        : null,
      mcpServers: env.mcp_servers ?? [],
    },
  };
  const cpusBeyondHost = host && env.cpus ? hostLimitProblem("cpus", env.cpus, host) : null;
  if (cpusBeyondHost) problems.push({ file, field: "[environment].cpus", message: `${env.cpus} is ${cpusBeyondHost}`, severity: "warning" });
  if (config.environment.os === "windows") {
    problems.push({ file, field: "[environment].os", message: "windows tasks are not supported by tmax", severity: "warning" });
  }
  if ((config.environment.gpus ?? 0) > 0) {
    problems.push({ file, field: "[environment].gpus", message: "GPUs are not passed to containers yet; the task runs without them", severity: "warning" });
  }
  if (config.steps && config.steps.length > 0) {
    problems.push({ file, field: "steps", message: "multi-step tasks are parsed but run as a single step", severity: "warning" });
  }
  return { config, problems };
}

import { TomlError } from "smol-toml";
import type { z } from "zod";
import { parseTomlDocument } from "../util/toml.js";
import type { HostCapacity } from "./limits.js";
import { baselinePolicy, phasePolicy } from "./network-policy.js";
import { tomlField, type TaskProblem } from "./problems.js";
import { runProblems } from "./runnable.js";
import { migrateLegacySizes } from "./legacy-sizes.js";
import { detectGeneration, type Generation } from "./generation.js";
import type { AgentConfig, Artifact, EnvironmentConfig, Healthcheck, ResourceOverrides, StepConfig, TaskConfig, VerifierConfig } from "./config-types.js";
import {
  taskTomlSchema,
  type RawAgent,
  type RawArtifact,
  type RawEnvironment,
  type RawHealthcheck,
  type RawStep,
  type RawTaskToml,
  type RawVerifier,
} from "./toml-schema.js";

/**
 * task.toml in both Harbor generations: TB2-era (`version`, `memory = "2G"`, 600 s agent timeout, 1 CPU, 2 GB) and
 * current (`schema_version`, `memory_mb`, no agent timeout or limits unless set). Validation is Harbor's own
 * (toml-schema.ts); this module turns a valid file into the configuration the runner works with and adds what tmax
 * cannot run here (runnable.ts).
 */

export const DEFAULT_TIMEOUT_SEC = 600;

type ParseOutcome = { config: TaskConfig; problems: TaskProblem[] } | { config: null; problems: TaskProblem[] };

export interface ParseOptions {
  /** When given, resource limits beyond this host are reported as warnings (as `tasks check` does). */
  host?: HostCapacity;
  /** The job's --override-* values: a resource they replace is not the task's to check (a GPU task with --override-gpus 0 runs). */
  overrides?: ResourceOverrides;
}

/**
 * Parses task.toml text. `file` is used in problem reports only. `config` is null exactly when the file is invalid
 * (a problem of severity "error"); a valid file comes with the problems that keep tmax from running it, if any.
 */
export function parseTaskToml(text: string, file = "task.toml", opts: ParseOptions = {}): ParseOutcome {
  let data: Record<string, unknown>;
  try {
    data = parseTomlDocument(text);
  } catch (err) {
    const where = err instanceof TomlError ? ` (line ${err.line}, column ${err.column})` : "";
    const first = (err instanceof Error ? err.message : String(err)).split("\n")[0];
    return { config: null, problems: [{ file, message: `not valid TOML${where}: ${first}`, severity: "error" }] };
  }
  const migrated = migrateLegacySizes(data);
  const sizeProblems: TaskProblem[] = migrated.issues.map((i) => ({ file, field: tomlField(i.path), message: i.message, severity: "error" }));
  const parsed = taskTomlSchema.safeParse(migrated.data);
  if (!parsed.success || sizeProblems.length > 0) {
    const problems: TaskProblem[] = (parsed.error?.issues ?? []).map((issue) => ({
      file,
      field: tomlField(fieldPath(issue.path, data)),
      message: describeIssue(issue, data),
      severity: "error" as const,
    }));
    return { config: null, problems: [...sizeProblems, ...problems] };
  }
  const problems: TaskProblem[] = [];
  const config = normalize(parsed.data, detectGeneration(data), file, problems);
  problems.push(...runProblems(config, data, file, opts));
  return { config, problems };
}

/** `schema_version` issues are about the `version` key when the file uses that (Harbor renames it). */
function fieldPath(path: readonly PropertyKey[], data: Record<string, unknown>): readonly PropertyKey[] {
  return path[0] === "schema_version" && !("schema_version" in data) ? ["version", ...path.slice(1)] : path;
}

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
function describeIssue(issue: z.core.$ZodIssue, data: Record<string, unknown>): string {
  const value = valueAt(data, fieldPath(issue.path, data));
  const got = value === undefined ? "nothing" : tomlValue(value);
  if (issue.code === "invalid_type") {
    const custom = issue.message.startsWith("Invalid input") ? null : issue.message;
    return `${custom ?? `expected ${issue.expected === "object" || issue.expected === "record" ? "a table" : issue.expected}`} (got ${got})`;
  }
  if (issue.code === "invalid_union") return `has an unsupported form (got ${got})`;
  if (value === undefined && issue.message === "is required") return "is required";
  return issue.message.includes("(got ") ? issue.message : `${issue.message} (got ${got})`;
}

const healthcheckOf = (hc: RawHealthcheck | undefined): Healthcheck | null =>
  hc
    ? {
        command: hc.command,
        intervalSec: hc.interval_sec,
        timeoutSec: hc.timeout_sec,
        startPeriodSec: hc.start_period_sec,
        startIntervalSec: hc.start_interval_sec,
        retries: hc.retries,
      }
    : null;

const artifactsOf = (list: RawArtifact[] | undefined): Artifact[] =>
  (list ?? []).map((a) =>
    typeof a === "string"
      ? a
      : { source: a.source, destination: a.destination === "" ? null : (a.destination ?? null), exclude: a.exclude, service: a.service?.trim() ?? null },
  );

/** Resource defaults a generation gives an environment whose task sets none. */
interface EnvironmentDefaults {
  cpus: number | null;
  memoryMb: number | null;
  storageMb: number | null;
}

const CURRENT_DEFAULTS: EnvironmentDefaults = { cpus: null, memoryMb: null, storageMb: null };
/** TB2-era Harbor always set limits: 1 CPU, 2 GB of memory, 10 GB of storage. */
const TB2_DEFAULTS: EnvironmentDefaults = { cpus: 1, memoryMb: 2048, storageMb: 10240 };

function environmentOf(env: RawEnvironment | undefined, section: string, defaults: EnvironmentDefaults, file: string, problems: TaskProblem[]): EnvironmentConfig {
  const e = env ?? {};
  return {
    buildTimeoutSec: e.build_timeout_sec ?? DEFAULT_TIMEOUT_SEC,
    dockerImage: e.docker_image ?? null,
    os: e.os ?? "linux",
    cpus: e.cpus ?? defaults.cpus,
    memoryMb: e.memory_mb ?? defaults.memoryMb,
    storageMb: e.storage_mb ?? defaults.storageMb,
    allowInternet: e.allow_internet ?? true,
    network: baselinePolicy(e, section, file, problems),
    env: e.env ?? {},
    workdir: e.workdir ?? null,
    gpus: e.gpus ?? null,
    gpuTypes: e.gpu_types ?? null,
    tpu: e.tpu ? { type: e.tpu.type, topology: e.tpu.topology.trim() } : null,
    skillsDir: e.skills_dir ?? null,
    healthcheck: healthcheckOf(e.healthcheck),
    mcpServers: (e.mcp_servers ?? []).map((s) => ({ name: s.name, transport: s.transport, url: s.url ?? null, command: s.command ?? null, args: s.args })),
  };
}

function verifierOf(v: RawVerifier | undefined, section: string, file: string, problems: TaskProblem[]): VerifierConfig {
  return {
    timeoutSec: v?.timeout_sec ?? DEFAULT_TIMEOUT_SEC,
    env: v?.env ?? {},
    user: v?.user ?? null,
    environmentMode: v?.environment_mode ?? null,
    environment: v?.environment ? environmentOf(v.environment, `${section}.environment`, CURRENT_DEFAULTS, file, problems) : null,
    collect: (v?.collect ?? []).map((c) => ({ command: c.command, service: c.service.trim(), timeoutSec: c.timeout_sec, user: c.user ?? null })),
    network: phasePolicy(v),
  };
}

function agentOf(a: RawAgent | undefined, defaultTimeout: number | null): AgentConfig {
  return { timeoutSec: a?.timeout_sec ?? defaultTimeout, user: a?.user ?? null, network: phasePolicy(a) };
}

function stepOf(s: RawStep, index: number, file: string, problems: TaskProblem[]): StepConfig {
  return {
    name: s.name,
    agent: agentOf(s.agent, null),
    verifier: verifierOf(s.verifier, `steps[${index}].verifier`, file, problems),
    minReward: s.min_reward ?? null,
    healthcheck: healthcheckOf(s.healthcheck),
    artifacts: artifactsOf(s.artifacts),
  };
}

function normalize(raw: RawTaskToml, generation: Generation, file: string, problems: TaskProblem[]): TaskConfig {
  const tb2 = generation === "tb2";
  return {
    generation,
    schemaVersion: raw.schema_version ?? (tb2 ? "1.0" : "1.4"),
    source: raw.source ?? null,
    task: raw.task
      ? { name: raw.task.name, version: raw.task.version ?? null, description: raw.task.description, authors: raw.task.authors, keywords: raw.task.keywords }
      : null,
    metadata: raw.metadata ?? {},
    artifacts: artifactsOf(raw.artifacts),
    multiStepRewardStrategy: raw.multi_step_reward_strategy ?? null,
    steps: raw.steps && raw.steps.length > 0 ? raw.steps.map((s, i) => stepOf(s, i, file, problems)) : null,
    verifier: verifierOf(raw.verifier, "verifier", file, problems),
    // TB2-era default is 600 s; current Harbor treats an absent timeout as "no timeout".
    agent: agentOf(raw.agent, tb2 ? DEFAULT_TIMEOUT_SEC : null),
    solution: { env: raw.solution?.env ?? {} },
    environment: environmentOf(raw.environment, "environment", tb2 ? TB2_DEFAULTS : CURRENT_DEFAULTS, file, problems),
  };
}

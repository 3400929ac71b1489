import type { Generation } from "./generation.js";
import type { TaskNetworkPolicy } from "./network-policy.js";

/** The configuration of a task as the runner works with it (config.ts makes it from a valid task.toml). */

export type Artifact = string | { source: string; destination?: string | null; exclude?: string[]; service?: string | null };

export interface Healthcheck {
  command: string;
  intervalSec: number;
  timeoutSec: number;
  startPeriodSec: number;
  startIntervalSec: number;
  retries: number;
}

export interface McpServer {
  name: string;
  transport: "stdio" | "sse" | "streamable-http";
  url: string | null;
  command: string | null;
  args: string[];
}

/**
 * The job's `--override-cpus`, `--override-memory-mb`, `--override-storage-mb` and `--override-gpus` (config.json's
 * `environment.override_*`): each one given replaces the task's own value in every container of its trials (the
 * verifier's included); null or absent = the task's value.
 */
export interface ResourceOverrides {
  cpus?: number | null;
  memoryMb?: number | null;
  storageMb?: number | null;
  gpus?: number | null;
}

/** The overrides of a Harbor job or trial config's `environment` block (its `override_*` fields). */
export function resourceOverridesOf(env: {
  override_cpus?: number | null;
  override_memory_mb?: number | null;
  override_storage_mb?: number | null;
  override_gpus?: number | null;
}): ResourceOverrides {
  return { cpus: env.override_cpus, memoryMb: env.override_memory_mb, storageMb: env.override_storage_mb, gpus: env.override_gpus };
}

/** An environment definition: the task's [environment], or a separate verifier's [verifier.environment]. */
export interface EnvironmentConfig {
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
  tpu: { type: string; topology: string } | null;
  skillsDir: string | null;
  healthcheck: Healthcheck | null;
  mcpServers: McpServer[];
}

/** A command run in a compose service after the agent phase, before artifacts are collected ([[verifier.collect]]). */
export interface CollectHook {
  command: string;
  service: string;
  timeoutSec: number;
  user: string | number | null;
}

export interface VerifierConfig {
  timeoutSec: number;
  env: Record<string, string>;
  user: string | number | null;
  environmentMode: "shared" | "separate" | null;
  environment: EnvironmentConfig | null;
  collect: CollectHook[];
  /** An explicit network_mode for this phase (null = the container's). */
  network: TaskNetworkPolicy | null;
}

export interface AgentConfig {
  /** null = no timeout (current schema, unset). */
  timeoutSec: number | null;
  user: string | number | null;
  network: TaskNetworkPolicy | null;
}

/** One of `[[steps]]`: its files are under steps/<name>/. */
export interface StepConfig {
  name: string;
  /** timeoutSec null = the task's [agent].timeout_sec; user null = the task's [agent].user. */
  agent: AgentConfig;
  /** Harbor's defaults, not the task's: an unset step verifier timeout is 600 s. */
  verifier: VerifierConfig;
  /** Stop the remaining steps when this step's rewards fall below it (a number gates on "reward"). */
  minReward: number | Record<string, number> | null;
  healthcheck: Healthcheck | null;
  artifacts: Artifact[];
}

/** The normalized task configuration the runner works with. */
export interface TaskConfig {
  /** "tb2" when the file uses only TB2-era fields under the TB2-era `version` key, else "current". Decides the defaults. */
  generation: Generation;
  schemaVersion: string;
  source: string | null;
  task: { name: string; version: string | null; description: string; authors: { name: string; email?: string | null }[]; keywords: string[] } | null;
  metadata: Record<string, unknown>;
  artifacts: Artifact[];
  multiStepRewardStrategy: "mean" | "final" | null;
  steps: StepConfig[] | null;
  verifier: VerifierConfig;
  agent: AgentConfig;
  solution: { env: Record<string, string> };
  environment: EnvironmentConfig;
}


import type { EnvironmentConfig, ResourceOverrides, TaskConfig } from "./config-types.js";
import { hostLimitProblem, sizeLimitProblem, type HostCapacity } from "./limits.js";
import { phaseOverrideProblem } from "./network-policy.js";
import type { TaskProblem } from "./problems.js";
import { stepVerifierMode, taskVerifierMode } from "./verifier-mode.js";
import { MAIN_SERVICE } from "./artifact-rules.js";

/**
 * What keeps a valid task from running here (severity "unrunnable": tmax refuses it rather than run it wrong) and
 * what is worth a warning, from its configuration and the job's resource overrides. The task directory's own checks
 * (container definition, compose files) are in task.ts.
 */

/** What the check takes besides the task: this host's capacity (warnings beyond it) and the job's overrides. */
export interface RunContext {
  host?: HostCapacity;
  /** A value given here replaces the task's own in every container, so the task's own is neither checked nor used. */
  overrides?: ResourceOverrides;
}

type Raw = Record<string, unknown>;

const tableAt = (data: Raw, path: (string | number)[]): Raw | undefined => {
  let v: unknown = data;
  for (const k of path) v = v && typeof v === "object" ? (v as Record<string | number, unknown>)[k] : undefined;
  return v && typeof v === "object" && !Array.isArray(v) ? (v as Raw) : undefined;
};

/** A limit as the file wrote it: the legacy string (`memory = "4G"`, shown with its MB) or the _mb key. */
function sizeSource(raw: Raw | undefined, legacy: "memory" | "storage", mb: number): { key: string; shown: string } {
  const text = raw?.[legacy];
  return typeof text === "string" ? { key: legacy, shown: `"${text}" (${mb} MB)` } : { key: `${legacy}_mb`, shown: `${mb} MB` };
}

/** A GPU request is the task's own unless --override-gpus replaces it (0 runs the task without GPUs). */
function gpuProblem(env: EnvironmentConfig, override: number | null): { severity: "unrunnable" | "warning"; message: string } | null {
  if (!((env.gpus ?? 0) > 0)) return null;
  const asked = `${env.gpus} GPU(s)${env.gpuTypes?.length ? ` (${env.gpuTypes.join(", ")})` : ""}`;
  if (override === null) return { severity: "unrunnable", message: `${asked}: tmax does not give containers GPUs (--override-gpus 0 runs the task without them)` };
  if (override === env.gpus) return null;
  return { severity: "warning", message: `${asked} replaced by --override-gpus ${override}${override === 0 ? ": the task runs without GPUs" : ""}` };
}

function environmentProblems(env: EnvironmentConfig, section: string, raw: Raw | undefined, file: string, ctx: RunContext): TaskProblem[] {
  const { host, overrides = {} } = ctx;
  const out: TaskProblem[] = [];
  const unrunnable = (key: string, message: string): void => void out.push({ file, field: `[${section}].${key}`, message, severity: "unrunnable" });
  const warning = (key: string, message: string): void => void out.push({ file, field: `[${section}].${key}`, message, severity: "warning" });

  if (env.os === "windows") unrunnable("os", '"windows": Windows tasks need a Windows container host; tmax runs Linux containers');
  const gpus = gpuProblem(env, overrides.gpus ?? null);
  if (gpus) (gpus.severity === "unrunnable" ? unrunnable : warning)("gpus", gpus.message);
  if (env.tpu) unrunnable("tpu", `a TPU slice (${env.tpu.type}, ${env.tpu.topology}): tmax does not give containers TPUs`);
  const cpus = overrides.cpus == null ? env.cpus : null;
  if (cpus !== null && cpus <= 0) unrunnable("cpus", `${cpus} is not a CPU count a container can have (must be > 0)`);
  if (cpus !== null && cpus > 0 && host) {
    const beyond = hostLimitProblem("cpus", cpus, host);
    if (beyond) warning("cpus", `${cpus} is ${beyond}`);
  }
  for (const kind of ["memory", "storage"] as const) {
    const overridden = (kind === "memory" ? overrides.memoryMb : overrides.storageMb) != null;
    const mb = kind === "memory" ? env.memoryMb : env.storageMb;
    if (mb === null || overridden) continue;
    const { key, shown } = sizeSource(raw, kind, mb);
    const invalid = sizeLimitProblem(kind, mb);
    if (invalid) unrunnable(key, `${shown} is ${invalid}`);
    const beyond = !invalid && host && kind === "memory" ? hostLimitProblem("memory", mb, host) : null;
    if (beyond) warning(key, `${shown} is ${beyond}`);
  }
  if (!(env.buildTimeoutSec >= 0)) unrunnable("build_timeout_sec", `${env.buildTimeoutSec} is not a timeout (must be >= 0)`);
  if (env.skillsDir) warning("skills_dir", `${JSON.stringify(env.skillsDir)}: tmax's agents have no skills directory; it is not used`);
  if (env.mcpServers.length > 0) {
    const names = env.mcpServers.map((s) => s.name).join(", ");
    warning("mcp_servers", `MCP servers (${names}) are offered to the agent; tmax's agents work through bash only and run without them`);
  }
  return out;
}

const timeoutProblem = (value: number | null, field: string, file: string): TaskProblem | null =>
  value === null || value >= 0 ? null : { file, field, message: `${value} is not a timeout (must be >= 0)`, severity: "unrunnable" };

/** Compose services other than main that artifacts or collect hooks name (only a compose environment has them). */
export function sidecarServices(config: TaskConfig): string[] {
  const names = new Set<string>();
  const artifacts = [...config.artifacts, ...(config.steps ?? []).flatMap((s) => s.artifacts)];
  for (const a of artifacts) if (typeof a !== "string" && a.service && a.service !== MAIN_SERVICE) names.add(a.service);
  const hooks = [...config.verifier.collect, ...(config.steps ?? []).flatMap((s) => s.verifier.collect)];
  for (const h of hooks) if (h.service !== MAIN_SERVICE) names.add(h.service);
  return [...names].sort();
}

export function runProblems(config: TaskConfig, data: Raw, file: string, ctx: RunContext = {}): TaskProblem[] {
  const out: TaskProblem[] = [];
  // use.computer's simulator pin: the task drives a device's screen (Harbor's use-computer / cua-cloud environments).
  if (tableAt(data, ["ios"])) {
    out.push({ file, field: "[ios]", message: "an iOS simulator: computer-use environments (Harbor's use-computer, cua-cloud) are not run by tmax", severity: "unrunnable" });
  }
  const push = (p: TaskProblem | null): void => void (p && out.push(p));
  out.push(...environmentProblems(config.environment, "environment", tableAt(data, ["environment"]), file, ctx));
  if (config.verifier.environment) {
    out.push(...environmentProblems(config.verifier.environment, "verifier.environment", tableAt(data, ["verifier", "environment"]), file, { overrides: ctx.overrides }));
  }
  push(timeoutProblem(config.agent.timeoutSec, "[agent].timeout_sec", file));
  push(timeoutProblem(config.verifier.timeoutSec, "[verifier].timeout_sec", file));
  const baseline = config.environment.network;
  push(phaseOverrideProblem(config.agent.network, baseline, "agent", file));
  // A separate verifier's container is made for the phase, with the phase's policy: only a shared one would switch.
  if (!config.steps && taskVerifierMode(config) === "shared") push(phaseOverrideProblem(config.verifier.network, baseline, "verifier", file));
  (config.steps ?? []).forEach((step, i) => {
    const section = `steps[${i}]`;
    push(timeoutProblem(step.agent.timeoutSec, `[${section}.agent].timeout_sec`, file));
    push(timeoutProblem(step.verifier.timeoutSec, `[${section}.verifier].timeout_sec`, file));
    push(phaseOverrideProblem(step.agent.network ?? config.agent.network, baseline, `${section}.agent`, file));
    if (stepVerifierMode(config, step) === "shared") {
      push(phaseOverrideProblem(step.verifier.network ?? config.verifier.network, baseline, `${section}.verifier`, file));
    }
    if (step.verifier.environment) {
      out.push(...environmentProblems(step.verifier.environment, `${section}.verifier.environment`, tableAt(data, ["steps", i, "verifier", "environment"]), file, { overrides: ctx.overrides }));
    }
  });
  return out;
}

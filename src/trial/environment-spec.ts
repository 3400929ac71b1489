import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { ResourceLimitError } from "../environment/engine-errors.js";
import type { EnvironmentSpec, ExtraMount, ImageSource, LogMounts, NetworkPolicy, ServiceSpec } from "../environment/environment.js";
import type { MountSpec } from "../harbor/trial-schema.js";
import type { ComposeService } from "../task/compose.js";
import type { TaskNetworkPolicy } from "../task/network-policy.js";
import { resolveEnvMap } from "../task/templating.js";
import type { Task } from "../task/task.js";
import type { EnvironmentConfig, ResourceOverrides } from "../task/config-types.js";
import type { VerifierEnvironmentDefinition } from "../task/verifier-environment.js";

/**
 * The image of a task: `[environment].docker_image` if set (its environment/Dockerfile, when there is one, is the
 * fallback and the `--force-build` target; without one, environment/'s files are copied into the workdir), else
 * environment/ built as a Dockerfile context.
 */
export function imageSourceFor(task: Task): ImageSource {
  const image = task.config.environment.dockerImage;
  if (!image) return { kind: "build", context: task.environmentDir };
  return task.dockerfile
    ? { kind: "image", name: image, fallbackContext: task.environmentDir }
    : { kind: "image", name: image, files: task.environmentDir };
}

/** What a trial (or any caller running a task) adds to the task's own [environment]. */
export interface TaskEnvironmentOptions {
  trialName: string;
  jobId?: string;
  logs: LogMounts;
  /** --override-cpus / --override-memory-mb / --override-storage-mb; null or absent = the task's value. */
  overrides?: ResourceOverrides;
  /** Extra environment (the trial config's environment.env), on top of the task's [environment].env. */
  env?: Record<string, string>;
  /** Extra mounts (the trial config's environment.mounts, `--mounts-json`). */
  mounts?: readonly MountSpec[];
  /** The trial log; also receives the note when the CPU request is capped. */
  log?: (line: string) => void;
  /** Variables `${VAR}` templates in [environment].env are resolved from (default: process.env). */
  hostEnv?: Record<string, string | undefined>;
  /** CPUs of this host (default: availableParallelism()). */
  hostCpus?: number;
}

/** A Harbor mount (Docker Compose's long volume syntax) as the environment takes it; relative bind sources from the cwd. */
export function extraMount(m: MountSpec): ExtraMount {
  if (m.type === "image") throw new Error(`mount ${m.source} → ${m.target}: image mounts are not supported by tmax (bind and volume are)`);
  if (!m.target.startsWith("/")) throw new Error(`mount ${m.source} → ${m.target}: the target must be an absolute path in the container`);
  return {
    type: m.type,
    source: m.type === "bind" ? resolve(m.source) : m.source,
    target: m.target,
    readOnly: m.read_only === true,
    createHostPath: m.bind?.create_host_path !== false,
    ...(m.bind?.selinux ? { selinux: m.bind.selinux } : {}),
    ...(m.volume?.subpath ? { subpath: m.volume.subpath } : {}),
  };
}

/**
 * The one mapping task.toml → EnvironmentSpec: resources with the overrides applied and CPUs capped at the host's
 * count (`--override-storage-mb` and `--override-gpus` are also asked of the engine: EngineRequests), the network policy (network_mode / allow_internet, see networkPolicyFor), the task's workdir, its env with `${VAR}` templates resolved (throws
 * naming an unset variable), labelled with the task's name.
 */
export function environmentSpecFor(task: Task, opts: TaskEnvironmentOptions): EnvironmentSpec {
  const cfg = task.config.environment;
  const compose = task.compose;
  if (!compose) return specFor(task, cfg, imageSourceFor(task), cfg.network, opts);
  // Compose: main's image and environment as the file sets them (over the task's), and the services beside it.
  const main = compose.main;
  const spec = specFor(task, cfg, main.image ? composeImage(main.image) : imageSourceFor(task), cfg.network, opts);
  // As Harbor layers them: the compose file's environment for main, under the task's [environment].env.
  return { ...spec, env: { ...main.env, ...spec.env }, services: compose.services.map(serviceSpecFor), mainDependsOn: main.dependsOn };
}

function composeImage(image: ComposeService["image"]): ImageSource {
  return image.kind === "image" ? { kind: "image", name: image.name } : { kind: "build", context: image.context };
}

function serviceSpecFor(s: ComposeService): ServiceSpec {
  return {
    name: s.name,
    image: composeImage(s.image),
    env: s.env,
    command: s.command,
    entrypoint: s.entrypoint,
    workdir: s.workdir,
    user: s.user,
    dependsOn: s.dependsOn,
    healthcheck: s.healthcheck,
  };
}

/**
 * The container of a separate verifier (verifier-environment.ts's definition): its own image, resources, network
 * (the verifier phase's network_mode when set, the container is made for that phase) and env, named after the trial
 * with `__verifier` and the step (or "trial").
 */
export function verifierEnvironmentSpecFor(
  task: Task,
  definition: VerifierEnvironmentDefinition,
  phaseNetwork: TaskNetworkPolicy | null,
  key: string,
  opts: TaskEnvironmentOptions,
): EnvironmentSpec {
  const { config } = definition;
  let image: ImageSource;
  if (!definition.bundledTests) image = imageSourceFor(task);
  else if (config.dockerImage) image = { kind: "image", name: config.dockerImage };
  else image = { kind: "build", context: definition.directory };
  const slug = key.replace(/[^A-Za-z0-9._-]/g, "_");
  return specFor(task, config, image, phaseNetwork ?? config.network, { ...opts, trialName: `${opts.trialName}__verifier__${slug}` });
}

function specFor(task: Task, cfg: EnvironmentConfig, image: ImageSource, network: TaskNetworkPolicy, opts: TaskEnvironmentOptions): EnvironmentSpec {
  const requested = opts.overrides?.cpus ?? cfg.cpus;
  const hostCpus = opts.hostCpus ?? availableParallelism();
  let cpus = requested;
  if (requested && requested > hostCpus) {
    opts.log?.(`task asks for ${requested} CPUs; this host has ${hostCpus}, limit set to ${hostCpus}`);
    cpus = hostCpus;
  }
  return {
    displayName: task.name,
    image,
    resources: {
      cpus,
      memoryMb: opts.overrides?.memoryMb ?? cfg.memoryMb,
      storageMb: opts.overrides?.storageMb ?? cfg.storageMb,
      gpus: opts.overrides?.gpus ?? cfg.gpus,
    },
    ...engineRequests(opts.overrides),
    ...(opts.mounts && opts.mounts.length > 0 ? { mounts: opts.mounts.map(extraMount) } : {}),
    network: networkPolicyFor(network),
    workdir: cfg.workdir,
    env: { ...resolveEnvMap(cfg.env, opts.hostEnv), ...(opts.env ?? {}) },
    labels: { "tmax.task": task.name },
    trialName: opts.trialName,
    ...(opts.jobId !== undefined ? { jobId: opts.jobId } : {}),
    logs: opts.logs,
    ...(opts.log ? { log: opts.log } : {}),
  };
}

/** What the overrides ask of the engine beyond the task's resources (nothing when none is given). */
function engineRequests(o: ResourceOverrides | undefined): Pick<EnvironmentSpec, "engineRequests"> {
  const storageMb = o?.storageMb ?? null;
  const gpus = o?.gpus ?? null;
  return storageMb === null && gpus === null ? {} : { engineRequests: { storageMb, gpus } };
}

/** The task's network policy in the environment's terms: public → open, no-network → none, allowlist → allowlist. */
export function networkPolicyFor(policy: TaskNetworkPolicy): NetworkPolicy {
  switch (policy.mode) {
    case "public":
      return { mode: "open" };
    case "no-network":
      return { mode: "none" };
    case "allowlist":
      return { mode: "allowlist", hosts: policy.allowedHosts };
  }
}

/** Where each engine limit is set: the run option that overrides it, and the task.toml field. */
const LIMIT_SOURCES = {
  cpus: { option: "--override-cpus", field: "cpus" },
  memoryMb: { option: "--override-memory-mb", field: "memory_mb" },
} as const;

/**
 * A limit the container engine refused (ResourceLimitError from the environment), restated as where the value came
 * from: the --override-* option, or the task's [environment] field in its task.toml (`memory = "…"` is given as
 * memory_mb). The environment's error is kept as the cause; other errors are returned as they are.
 */
export function inTaskTerms(err: unknown, task: Task, overrides: ResourceOverrides = {}): unknown {
  if (!(err instanceof ResourceLimitError)) return err;
  const source = LIMIT_SOURCES[err.resource];
  const subject =
    overrides[err.resource] != null
      ? `${source.option} ${err.value}`
      : `[environment].${source.field} = ${err.value} in ${task.name}/task.toml`;
  return new ResourceLimitError(subject, err.resource, err.value, err.engineMessage, { cause: err });
}

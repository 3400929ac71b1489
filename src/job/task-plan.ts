import { basename, resolve } from "node:path";
import { minimatch } from "minimatch";
import type { TaskRef } from "../harbor/trial-schema.js";
import type { ParseOptions } from "../task/config.js";
import { resourceOverridesOf } from "../task/config-types.js";
import { discoverTasks, type DiscoveredTasks } from "../task/dataset.js";
import { taskVerdict } from "../task/problems.js";
import { gitTaskCacheDir } from "../task/registry/cache-dir.js";
import { checkoutGitTasks, type GitTaskRequest } from "../task/registry/git-tasks.js";
import { findDataset, loadRegistry, registryTaskName, type RegistryTask } from "../task/registry/registry-file.js";
import { inspectTask, type Task } from "../task/task.js";
import { jobTaskSources, taskRef, type JobTaskSource } from "./config.js";
import type { DatasetRef, JobConfig } from "./schema.js";

/**
 * The tasks a job config plans, made local: local task and dataset dirs are read; tasks in git repositories and the
 * tasks of registry datasets are checked out into tmax's cache (task/registry/) and read from there. Each task keeps
 * where it came from: its source (dataset name) for result.json, and — when it is not a plain local dir — the entry
 * Harbor plans it with (trial config.json's `task`) and the commit it was checked out at (lock.json).
 */

/** Where a task that is not a plain local dir came from. */
export interface TaskOrigin {
  /** Its entry as Harbor plans it: trial config.json's `task`. */
  ref: TaskRef;
  /** The full commit id a git task was checked out at (lock.json's git_commit_id); null for local ones. */
  resolvedCommit: string | null;
}

export interface PlannedTasks {
  /** Every task, malformed ones and warnings, over all entries (source: the first entry's). */
  found: DiscoveredTasks;
  /** Per task, the source its trials record. */
  sources: Map<Task, string | null>;
  /** Per task that is not a plain local dir, where it came from. */
  origins: Map<Task, TaskOrigin>;
}

export interface PlanOptions {
  /** Where git tasks are cached (default: gitTaskCacheDir(); an entry's download_dir wins). */
  cacheDir?: string;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

interface Part {
  found: DiscoveredTasks;
  source: (task: Task) => string | null;
  origin?: (task: Task) => TaskOrigin;
}

/** Harbor's task filter of a dataset (DatasetConfig._filter_task_ids): include globs, exclude globs, then the limit. */
function selectTasks(tasks: RegistryTask[], ds: DatasetRef, where: string): RegistryTask[] {
  let selected = tasks;
  const include = ds.task_names ?? [];
  if (include.length > 0) {
    selected = selected.filter((t) => include.some((g) => minimatch(registryTaskName(t), g)));
    if (selected.length === 0) {
      const names = tasks.map(registryTaskName).sort();
      throw new Error(`${where}: no task of ${ds.name} matches ${include.join(", ")} (it has ${names.length}: ${names.slice(0, 5).join(", ")}${names.length > 5 ? ", …" : ""})`);
    }
  }
  const exclude = ds.exclude_task_names ?? [];
  selected = selected.filter((t) => !exclude.some((g) => minimatch(registryTaskName(t), g)));
  return ds.n_tasks == null ? selected : selected.slice(0, Math.max(0, ds.n_tasks));
}

/** Each dir read as one task (in order; never as a dataset), with its entry. */
async function readTasks(dirs: { dir: string; origin: TaskOrigin }[], source: string | null, parse: ParseOptions): Promise<Part> {
  const origins = new Map<Task, TaskOrigin>();
  const found: DiscoveredTasks = { kind: "dataset", root: dirs[0]?.dir ?? "", source, tasks: [], invalid: [], warnings: [] };
  for (const { dir, origin } of dirs) {
    const { task, problems } = await inspectTask(dir, parse);
    if (task) {
      origins.set(task, origin);
      found.tasks.push(task);
      found.warnings.push(...task.warnings);
    } else {
      found.invalid.push({ dir, name: basename(dir), valid: taskVerdict(problems).valid, problems });
    }
  }
  return { found, source: () => source, origin: (t) => origins.get(t)! };
}

async function gitTask(e: Extract<JobTaskSource, { kind: "git" }>, opts: PlanOptions, parse: ParseOptions): Promise<Part> {
  const { ref } = e;
  const request: GitTaskRequest = { gitUrl: ref.git_url!, commit: ref.git_commit_id, path: ref.path! };
  const [got] = await checkoutGitTasks([request], { cacheDir: ref.download_dir ?? opts.cacheDir ?? gitTaskCacheDir(), overwrite: ref.overwrite, signal: opts.signal, log: opts.log });
  return readTasks([{ dir: got!.dir, origin: { ref, resolvedCommit: got!.resolvedCommit } }], ref.source, parse);
}

async function registryDataset(e: Extract<JobTaskSource, { kind: "registry" }>, opts: PlanOptions, parse: ParseOptions): Promise<Part> {
  const ds = e.dataset;
  const registry = await loadRegistry({ path: ds.registry_path, url: ds.registry_url });
  const spec = findDataset(registry, ds.name!, ds.version);
  const selected = selectTasks(spec.tasks, ds, e.where);
  opts.log?.(`${spec.name}@${spec.version} (${registry.location}): ${selected.length} of ${spec.tasks.length} task(s)`);
  const refOf = (t: RegistryTask): TaskRef => ({
    ...taskRef(t.path, ds.name),
    git_url: t.git_url ?? null,
    git_commit_id: t.git_url ? (t.git_commit_id ?? null) : null,
    overwrite: ds.overwrite,
    download_dir: ds.download_dir,
  });
  const fromGit = selected.filter((t) => t.git_url);
  const checkedOut = await checkoutGitTasks(
    fromGit.map((t) => ({ gitUrl: t.git_url!, commit: t.git_commit_id ?? null, path: t.path })),
    { cacheDir: ds.download_dir ?? opts.cacheDir ?? gitTaskCacheDir(), overwrite: ds.overwrite, signal: opts.signal, log: opts.log },
  );
  const dirOf = new Map(fromGit.map((t, i) => [t, checkedOut[i]!]));
  // A registry task without git_url is a local path (relative ones to the working directory, as in Harbor).
  const dirs = selected.map((t) => {
    const got = dirOf.get(t);
    return got ? { dir: got.dir, origin: { ref: refOf(t), resolvedCommit: got.resolvedCommit } } : { dir: resolve(t.path), origin: { ref: refOf(t), resolvedCommit: null } };
  });
  return readTasks(dirs, ds.name, parse);
}

async function localEntry(e: Extract<JobTaskSource, { kind: "local" }>, parse: ParseOptions): Promise<Part> {
  const found = await discoverTasks(e.path, { include: e.include, exclude: e.exclude, limit: e.limit }, parse);
  return { found, source: () => (e.singleTask ? e.source : found.source) };
}

/**
 * Every task of the job's tasks[] and datasets[], in Harbor's order, checked with the job's environment overrides
 * (config.json's, so --resume sees them too). Throws (naming the entry, the registry, the repository) when an entry
 * cannot be resolved; malformed tasks are returned in `found.invalid`, not thrown.
 */
export async function loadJobTasks(config: JobConfig, opts: PlanOptions = {}): Promise<PlannedTasks> {
  // What the job's overrides replace does not keep a task from running.
  const parse: ParseOptions = { overrides: resourceOverridesOf(config.environment) };
  const parts: Part[] = [];
  for (const e of jobTaskSources(config)) {
    if (e.kind === "local") parts.push(await localEntry(e, parse));
    else if (e.kind === "git") parts.push(await gitTask(e, opts, parse));
    else parts.push(await registryDataset(e, opts, parse));
  }
  const sources = new Map<Task, string | null>();
  const origins = new Map<Task, TaskOrigin>();
  for (const p of parts) {
    for (const t of p.found.tasks) {
      sources.set(t, p.source(t));
      if (p.origin) origins.set(t, p.origin(t));
    }
  }
  const found: DiscoveredTasks = {
    ...parts[0]!.found,
    tasks: parts.flatMap((p) => p.found.tasks),
    invalid: parts.flatMap((p) => p.found.invalid),
    warnings: parts.flatMap((p) => p.found.warnings),
  };
  return { found, sources, origins };
}

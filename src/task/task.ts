import { existsSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { stripCanary } from "./canary.js";
import { directoryChecksum } from "../util/file-tree.js";
import { parseTaskToml, type ParseOptions, type TaskConfig } from "./config.js";
import { TaskLoadError, type TaskProblem } from "./problems.js";

/** A Harbor-format task directory, loaded and validated. */
export interface Task {
  /** Absolute path of the task directory. */
  dir: string;
  /** Directory basename (Harbor's name for local tasks). */
  name: string;
  config: TaskConfig;
  /** instruction.md with leading canary lines stripped. */
  instruction: string;
  environmentDir: string;
  /** Path of environment/Dockerfile when present. */
  dockerfile: string | null;
  testsDir: string;
  solutionDir: string | null;
  /** Non-fatal findings (unsupported features etc.). */
  warnings: TaskProblem[];
}

const isDir = (p: string): boolean => existsSync(p) && statSync(p).isDirectory();
const isFile = (p: string): boolean => existsSync(p) && statSync(p).isFile();

/** True when `dir` looks like a task (has task.toml); used to tell a task dir from a dataset dir. */
export function looksLikeTaskDir(dir: string): boolean {
  return isFile(join(dir, "task.toml"));
}

/**
 * Loads a task; returns every problem found (errors and warnings) instead of stopping at the first. `opts.host`
 * adds warnings for limits beyond this host.
 */
export async function inspectTask(dirIn: string, opts: ParseOptions = {}): Promise<{ task: Task | null; problems: TaskProblem[] }> {
  const dir = resolve(dirIn);
  const name = basename(dir);
  const rel = (p: string): string => join(name, p);
  const problems: TaskProblem[] = [];

  let config: TaskConfig | null = null;
  const tomlPath = join(dir, "task.toml");
  if (!isFile(tomlPath)) {
    problems.push({ file: rel("task.toml"), message: "missing", severity: "error" });
  } else {
    const parsed = parseTaskToml(await readFile(tomlPath, "utf8"), rel("task.toml"), opts);
    problems.push(...parsed.problems);
    config = parsed.config;
  }

  let instruction = "";
  const instructionPath = join(dir, "instruction.md");
  if (!isFile(instructionPath)) {
    problems.push({ file: rel("instruction.md"), message: "missing", severity: "error" });
  } else {
    instruction = stripCanary(await readFile(instructionPath, "utf8"));
    if (instruction.trim() === "") problems.push({ file: rel("instruction.md"), message: "is empty", severity: "error" });
  }

  const environmentDir = join(dir, "environment");
  let dockerfile: string | null = null;
  if (!isDir(environmentDir)) {
    problems.push({ file: rel("environment/"), message: "missing directory", severity: "error" });
  } else {
    dockerfile = isFile(join(environmentDir, "Dockerfile")) ? join(environmentDir, "Dockerfile") : null;
    const hasCompose = ["docker-compose.yaml", "docker-compose.yml"].some((f) => isFile(join(environmentDir, f)));
    if (!dockerfile && config && !config.environment.dockerImage) {
      problems.push({
        file: rel("environment/Dockerfile"),
        message: hasCompose
          ? "docker-compose environments are not supported by tmax yet; add a Dockerfile or set [environment].docker_image"
          : "missing, and [environment].docker_image is not set: the task has no container definition",
        severity: "error",
      });
    }
  }

  const testsDir = join(dir, "tests");
  if (!isFile(join(testsDir, "test.sh"))) {
    problems.push({ file: rel("tests/test.sh"), message: "missing (the verifier entry point)", severity: "error" });
  }

  let solutionDir: string | null = null;
  if (isDir(join(dir, "solution"))) {
    if (isFile(join(dir, "solution", "solve.sh"))) solutionDir = join(dir, "solution");
    else problems.push({ file: rel("solution/solve.sh"), message: "solution/ exists but has no solve.sh", severity: "warning" });
  }

  const errors = problems.filter((p) => p.severity === "error");
  if (errors.length > 0 || !config) return { task: null, problems };
  const task: Task = {
    dir,
    name,
    config,
    instruction,
    environmentDir,
    dockerfile,
    testsDir,
    solutionDir,
    warnings: problems.filter((p) => p.severity === "warning"),
  };
  return { task, problems };
}

/** Loads a task or throws a TaskLoadError listing every problem with its file and field. */
export async function loadTask(dir: string): Promise<Task> {
  const { task, problems } = await inspectTask(dir);
  if (!task) throw new TaskLoadError(resolve(dir), problems);
  return task;
}

export async function taskChecksum(task: Task): Promise<string> {
  return directoryChecksum(task.dir);
}

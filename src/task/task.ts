import { existsSync, readdirSync, realpathSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, join, relative, resolve, sep } from "node:path";
import { stripCanary } from "./canary.js";
import { directoryChecksum } from "../util/file-tree.js";
import { parseTaskToml, type ParseOptions } from "./config.js";
import type { StepConfig, TaskConfig } from "./config-types.js";
import { TaskLoadError, taskVerdict, type TaskProblem } from "./problems.js";
import { sidecarServices } from "./runnable.js";
import { verifierEnvironmentDefinition } from "./verifier-environment.js";
import { readComposeEnvironment, type ComposeEnvironment } from "./compose.js";
import { resolveHostTemplate } from "./templating.js";
import { ExcludedInputError, HARBORIGNORE, TaskFileFilter } from "./harborignore.js";

/** One step of a multi-step task, with its files under steps/<name>/. */
export interface TaskStep {
  config: StepConfig;
  /** steps/<name>/instruction.md with leading canary lines stripped. */
  instruction: string;
  /** Uploaded to /tests in this order before the step's tests run: the task's tests/, then the step's (when present). */
  testDirs: string[];
  /** steps/<name>/solution when it holds solve.sh (the oracle agent runs it), else null. */
  solutionDir: string | null;
  /** steps/<name>/workdir: copied into the working directory before the step; its setup.sh runs first. */
  workdirDir: string | null;
}

/** A Harbor-format task directory, loaded and validated. */
export interface Task {
  /** Absolute path of the task directory. */
  dir: string;
  /** Directory basename (Harbor's name for local tasks). */
  name: string;
  config: TaskConfig;
  /** instruction.md with leading canary lines stripped ("" for multi-step tasks: each step has its own). */
  instruction: string;
  environmentDir: string;
  /** Path of environment/Dockerfile when present. */
  dockerfile: string | null;
  testsDir: string;
  solutionDir: string | null;
  /** The steps of a multi-step task ([[steps]]), in order; null for a single-step task. */
  steps: TaskStep[] | null;
  /** environment/docker-compose.yaml: services beside the main container; null without one. */
  compose: ComposeEnvironment | null;
  /** Non-fatal findings (unsupported features etc.). */
  warnings: TaskProblem[];
}

const isDir = (p: string): boolean => existsSync(p) && statSync(p).isDirectory();
const isFile = (p: string): boolean => existsSync(p) && statSync(p).isFile();
const COMPOSE_FILES = ["docker-compose.yaml", "docker-compose.yml"];

/** True when `dir` looks like a task (has task.toml); used to tell a task dir from a dataset dir. */
export function looksLikeTaskDir(dir: string): boolean {
  return isFile(join(dir, "task.toml"));
}

interface Checks {
  dir: string;
  rel: (p: string) => string;
  problems: TaskProblem[];
}

async function readInstruction(path: string, relPath: string, c: Checks): Promise<string> {
  if (!isFile(path)) {
    c.problems.push({ file: relPath, message: "missing", severity: "error" });
    return "";
  }
  const text = stripCanary(await readFile(path, "utf8"));
  if (text.trim() === "") c.problems.push({ file: relPath, message: "is empty: the agent gets no instruction", severity: "warning" });
  return text;
}

/**
 * Harbor's containment rule for the inputs it copies into containers (tests/, solution/, steps/<name>/): every path
 * under them, links followed, stays inside the task directory, and directory links form no cycle.
 */
function escapingInput(root: string, taskDir: string): string | null {
  const top = realpathSync(taskDir);
  const visit = (path: string, ancestors: Set<string>): string | null => {
    let real: string;
    try {
      real = realpathSync(path);
    } catch {
      return null; // a dangling link copies nothing
    }
    if (real !== top && !real.startsWith(top + sep)) return path;
    if (!statSync(real).isDirectory()) return null;
    if (ancestors.has(real)) return path;
    const inner = new Set([...ancestors, real]);
    for (const name of readdirSync(path)) {
      const found = visit(join(path, name), inner);
      if (found) return found;
    }
    return null;
  };
  return existsSync(root) ? visit(root, new Set()) : null;
}

function checkInputsContained(config: TaskConfig, c: Checks): void {
  const roots = [join(c.dir, "tests"), join(c.dir, "solution"), ...(config.steps ?? []).map((s) => join(c.dir, "steps", s.name))];
  for (const root of roots) {
    const escaping = escapingInput(root, c.dir);
    if (escaping) {
      c.problems.push({ file: c.rel(relative(c.dir, escaping)), message: "leads outside the task directory (or into a loop of links): inputs must stay within the task", severity: "error" });
    }
  }
}

/** What `${VAR}` in a compose file can name: the task's [environment].env (templates resolved where they can be) over the host's. */
function composeVariables(config: TaskConfig): Record<string, string | undefined> {
  const vars: Record<string, string | undefined> = { ...process.env };
  for (const [k, v] of Object.entries(config.environment.env)) {
    try {
      vars[k] = resolveHostTemplate(v);
    } catch {
      // an unset ${VAR}: the trial reports it when it starts
    }
  }
  return vars;
}

/** A compose environment's services, checked against what else the task asks of its environment. */
function checkCompose(config: TaskConfig, compose: ComposeEnvironment, relFile: string, c: Checks): void {
  const unrunnable = (message: string): void => void c.problems.push({ file: relFile, message, severity: "unrunnable" });
  if (config.environment.network.mode === "allowlist") unrunnable('network_mode = "allowlist" cannot be enforced for services beside the main container');
  const separate = (config.steps ?? [null]).some((step) => {
    const definition = verifierEnvironmentDefinition(config, c.dir, step);
    return definition !== null && !definition.bundledTests;
  });
  if (separate) unrunnable("a separate verifier environment copied from a docker-compose environment (its services included) is not supported by tmax yet");
  const known = new Set(compose.services.map((s) => s.name));
  for (const service of sidecarServices(config)) {
    c.problems.push({
      file: c.rel("task.toml"),
      field: "artifacts",
      message: known.has(service)
        ? `artifacts or [[verifier.collect]] hooks of compose service "${service}": tmax collects only from the main container yet`
        : `artifacts or [[verifier.collect]] hooks name compose service "${service}", which ${relFile} does not define`,
      severity: "unrunnable",
    });
  }
}

/** The container definition: environment/ (unless docker_image is set), a Dockerfile or image, and any compose file. */
function checkEnvironment(config: TaskConfig | null, c: Checks): { dockerfile: string | null; compose: ComposeEnvironment | null } {
  const environmentDir = join(c.dir, "environment");
  const image = config?.environment.dockerImage ?? null;
  if (!isDir(environmentDir)) {
    if (config && !image) c.problems.push({ file: c.rel("environment/"), message: "missing directory, and [environment].docker_image is not set", severity: "error" });
    return { dockerfile: null, compose: null };
  }
  const dockerfile = isFile(join(environmentDir, "Dockerfile")) ? join(environmentDir, "Dockerfile") : null;
  const composeFile = COMPOSE_FILES.find((f) => isFile(join(environmentDir, f)));
  let compose: ComposeEnvironment | null = null;
  if (config && composeFile) {
    const relFile = c.rel(`environment/${composeFile}`);
    const read = readComposeEnvironment(environmentDir, composeFile, relFile, composeVariables(config));
    c.problems.push(...read.problems);
    compose = read.compose;
    if (compose) checkCompose(config, compose, relFile, c);
  }
  if (config && !dockerfile && !image && !compose?.main.image) {
    c.problems.push({
      file: c.rel("environment/Dockerfile"),
      message: `missing, and [environment].docker_image is not set${composeFile ? ` (nor an image or build for main in ${composeFile})` : ""}: the task has no container definition tmax can run`,
      severity: "unrunnable",
    });
  }
  return { dockerfile, compose };
}

/** A separate verifier built from a compose file in tests/ would need services tmax does not run. */
function checkVerifierEnvironments(config: TaskConfig, c: Checks): void {
  const steps: (StepConfig | null)[] = config.steps ?? [null];
  const composeDirs = new Set<string>();
  for (const step of steps) {
    const definition = verifierEnvironmentDefinition(config, c.dir, step);
    if (definition?.bundledTests && !definition.config.dockerImage && !isFile(join(definition.directory, "Dockerfile"))) composeDirs.add(definition.directory);
  }
  for (const dir of composeDirs) {
    c.problems.push({
      file: c.rel(join(relative(c.dir, dir), "docker-compose.yaml")),
      message: "a separate verifier built from docker-compose is not supported by tmax yet (add a Dockerfile beside it)",
      severity: "unrunnable",
    });
  }
}

/** A verifier entry point the task's .harborignore excludes is an error, as in Harbor (task/harborignore.ts). */
function requireIncluded(file: string, c: Checks): void {
  try {
    new TaskFileFilter(c.dir).requireIncluded(file);
  } catch (err) {
    const message = err instanceof ExcludedInputError ? `excluded by ${HARBORIGNORE}: the verifier cannot run without it` : (err as Error).message;
    c.problems.push({ file: c.rel(relative(c.dir, file)), message, severity: "error" });
  }
}

/** The test script a verify pass runs, for the environment's OS: test.sh on Linux, test.bat on Windows. */
const testScript = (config: TaskConfig): string => (config.environment.os === "windows" ? "test.bat" : "test.sh");

async function loadSteps(config: TaskConfig, c: Checks): Promise<TaskStep[]> {
  const steps: TaskStep[] = [];
  const script = testScript(config);
  const sharedTests = join(c.dir, "tests");
  for (const step of config.steps ?? []) {
    const stepDir = join(c.dir, "steps", step.name);
    if (!isDir(stepDir)) {
      c.problems.push({ file: c.rel(`steps/${step.name}/`), message: `missing directory of step "${step.name}"`, severity: "error" });
      continue;
    }
    const instruction = await readInstruction(join(stepDir, "instruction.md"), c.rel(`steps/${step.name}/instruction.md`), c);
    const stepTests = join(stepDir, "tests");
    const bundled = verifierEnvironmentDefinition(config, c.dir, step)?.bundledTests ?? false;
    if (!bundled && !isFile(join(stepTests, script)) && !isFile(join(sharedTests, script))) {
      c.problems.push({ file: c.rel(`steps/${step.name}/tests/${script}`), message: `missing, and so is tests/${script}: step "${step.name}" has no verifier`, severity: "error" });
    } else if (!bundled) {
      const entry = isFile(join(stepTests, script)) ? join(stepTests, script) : join(sharedTests, script);
      requireIncluded(entry, c);
    }
    const solution = join(stepDir, "solution");
    steps.push({
      config: step,
      instruction,
      testDirs: [sharedTests, stepTests].filter(isDir),
      solutionDir: isFile(join(solution, "solve.sh")) ? solution : null,
      workdirDir: isDir(join(stepDir, "workdir")) ? join(stepDir, "workdir") : null,
    });
  }
  return steps;
}

/**
 * Loads a task; returns every problem found (errors, what keeps it from running here, warnings) instead of stopping
 * at the first. The task is returned only when it can run. `opts.host` adds warnings for limits beyond this host.
 */
export async function inspectTask(dirIn: string, opts: ParseOptions = {}): Promise<{ task: Task | null; problems: TaskProblem[] }> {
  const dir = resolve(dirIn);
  const name = basename(dir);
  const c: Checks = { dir, rel: (p) => join(name, p), problems: [] };

  let config: TaskConfig | null = null;
  const tomlPath = join(dir, "task.toml");
  if (!isFile(tomlPath)) {
    c.problems.push({ file: c.rel("task.toml"), message: "missing", severity: "error" });
  } else {
    const parsed = parseTaskToml(await readFile(tomlPath, "utf8"), c.rel("task.toml"), opts);
    c.problems.push(...parsed.problems);
    config = parsed.config;
  }

  const { dockerfile, compose } = checkEnvironment(config, c);
  const testsDir = join(dir, "tests");
  let instruction = "";
  let steps: TaskStep[] | null = null;
  if (config?.steps) {
    steps = await loadSteps(config, c);
  } else {
    instruction = await readInstruction(join(dir, "instruction.md"), c.rel("instruction.md"), c);
    const bundled = config ? (verifierEnvironmentDefinition(config, dir, null)?.bundledTests ?? false) : false;
    const script = config ? testScript(config) : "test.sh";
    if (!bundled && !isFile(join(testsDir, script))) {
      c.problems.push({ file: c.rel(`tests/${script}`), message: "missing (the verifier entry point)", severity: "error" });
    } else if (!bundled) {
      requireIncluded(join(testsDir, script), c);
    }
  }
  if (config) checkVerifierEnvironments(config, c);
  if (config) checkInputsContained(config, c);
  const sidecars = config && !compose ? sidecarServices(config) : [];
  if (sidecars.length > 0) {
    c.problems.push({
      file: c.rel("task.toml"),
      field: "artifacts",
      message: `artifacts or [[verifier.collect]] hooks name compose service(s) ${sidecars.join(", ")}, but the task has no docker-compose environment`,
      severity: "unrunnable",
    });
  }

  let solutionDir: string | null = null;
  if (isDir(join(dir, "solution"))) {
    if (isFile(join(dir, "solution", "solve.sh"))) solutionDir = join(dir, "solution");
    else if (!steps) c.problems.push({ file: c.rel("solution/solve.sh"), message: "solution/ exists but has no solve.sh", severity: "warning" });
  }

  const { problems } = c;
  if (!config || !taskVerdict(problems).runnable) return { task: null, problems };
  const task: Task = {
    dir,
    name,
    config,
    instruction,
    environmentDir: join(dir, "environment"),
    dockerfile,
    testsDir,
    solutionDir,
    steps,
    compose,
    warnings: problems.filter((p) => p.severity === "warning"),
  };
  return { task, problems };
}

/** Loads a task or throws a TaskLoadError listing every problem that keeps it from running, with file and field. */
export async function loadTask(dir: string): Promise<Task> {
  const { task, problems } = await inspectTask(dir);
  if (!task) throw new TaskLoadError(resolve(dir), problems);
  return task;
}

export async function taskChecksum(task: Task): Promise<string> {
  return directoryChecksum(task.dir);
}

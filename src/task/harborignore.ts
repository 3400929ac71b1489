import { existsSync, lstatSync, readdirSync, readFileSync, realpathSync } from "node:fs";
import { basename, join, relative, sep } from "node:path";
import ignore, { type Ignore } from "ignore";

/**
 * Harbor's `.harborignore` (harbor ≥ 0.26): git-ignore rules that keep files of a task's test and solution inputs —
 * `tests/`, `solution/`, `steps/<name>/tests/`, `steps/<name>/solution/` — from being uploaded into the sandbox.
 * A `.harborignore` in one of those directories (or below) applies to the paths under it, the rules of deeper files
 * after those of shallower ones, the last matching rule deciding (`!pattern` re-includes); a directory excluded
 * excludes everything in it; `.harborignore` files themselves are never uploaded. Outside those scopes nothing is
 * excluded. A symlink inside the task is also excluded when its target is.
 */

export const HARBORIGNORE = ".harborignore";

/** The scopes, as path parts from the task dir: tests/, solution/, steps/<any>/tests/, steps/<any>/solution/. */
function inScope(parts: readonly string[]): boolean {
  if (parts.length >= 1 && (parts[0] === "tests" || parts[0] === "solution")) return true;
  return parts.length >= 3 && parts[0] === "steps" && (parts[2] === "tests" || parts[2] === "solution");
}

/** An input a task cannot run without (a solve.sh, a test.sh) that its `.harborignore` excludes. */
export class ExcludedInputError extends Error {
  override name = "ExcludedInputError";
}

export class TaskFileFilter {
  private readonly rules = new Map<string, Ignore | null>();
  private realTaskDir: string | null = null;

  constructor(private readonly taskDir: string) {}

  /** The rules of `dir`'s own .harborignore (null: none); `dir` is a path relative to the task dir. */
  private rulesOf(dirRel: string): Ignore | null {
    if (!this.rules.has(dirRel)) {
      const file = join(this.taskDir, dirRel, HARBORIGNORE);
      let found: Ignore | null = null;
      if (existsSync(file)) {
        if (!lstatSync(file).isFile()) throw new Error(`${file}: ignore rules must be a regular file`);
        found = ignore().add(readFileSync(file, "utf8"));
      }
      this.rules.set(dirRel, found);
    }
    return this.rules.get(dirRel)!;
  }

  /** Whether the path (relative to the task dir, `/`-separated) is excluded; `isDir` for a directory. */
  private matches(rel: string, isDir: boolean): boolean {
    const parts = rel.split("/").filter(Boolean);
    if (parts.at(-1) === HARBORIGNORE) return true;
    if (!inScope(parts)) return false;
    const specs: { dir: string[]; rules: Ignore }[] = [];
    for (let i = 0; i < parts.length; i++) {
      const dir = parts.slice(0, i);
      if (i > 0 && inScope(dir)) {
        const rules = this.rulesOf(dir.join("/"));
        if (rules) specs.push({ dir, rules });
      }
      const candidate = parts.slice(0, i + 1);
      if (!inScope(candidate)) continue;
      const asDir = i < parts.length - 1 || isDir;
      let excluded = false;
      for (const spec of specs) {
        const path = candidate.slice(spec.dir.length).join("/") + (asDir ? "/" : "");
        const verdict = spec.rules.test(path);
        if (verdict.ignored) excluded = true;
        else if (verdict.unignored) excluded = false;
      }
      if (excluded) return true;
    }
    return false;
  }

  /** Whether the file or directory at `path` (absolute, inside the task) is excluded from what is uploaded. */
  isExcluded(path: string, isDir = false): boolean {
    const rel = relative(this.taskDir, path);
    if (rel.startsWith("..") || rel === "") return false;
    if (this.matches(rel.split(sep).join("/"), isDir)) return true;
    let real: string;
    try {
      real = realpathSync(path);
    } catch {
      return false;
    }
    this.realTaskDir ??= realpathSync(this.taskDir);
    const realRel = relative(this.realTaskDir, real);
    return real !== path && !realRel.startsWith("..") && this.matches(realRel.split(sep).join("/"), isDir);
  }

  /**
   * For uploading `dir` (a directory of the task): a test of a file's path relative to it, or null when no
   * `.harborignore` applies there (everything is uploaded).
   */
  excluderFor(dir: string): ((relPath: string) => boolean) | null {
    if (!this.anyRulesUnder(dir)) return null;
    return (relPath) => this.isExcluded(join(dir, ...relPath.split("/")));
  }

  /** Throws ExcludedInputError when `path` (a required input) is excluded. */
  requireIncluded(path: string): void {
    if (this.isExcluded(path)) throw new ExcludedInputError(`${relative(this.taskDir, path)}: a required task input is excluded by ${HARBORIGNORE}`);
  }

  /** Whether any .harborignore could apply to `dir`: one in it or in a scope directory above it. */
  private anyRulesUnder(dir: string): boolean {
    const rel = relative(this.taskDir, dir).split(sep).filter(Boolean);
    for (let i = 1; i <= rel.length; i++) if (inScope(rel.slice(0, i)) && this.rulesOf(rel.slice(0, i).join("/"))) return true;
    return hasIgnoreFileBelow(dir);
  }
}

/** Whether `dir` holds a .harborignore at any depth. */
function hasIgnoreFileBelow(dir: string): boolean {
  try {
    return readdirSync(dir, { recursive: true, encoding: "utf8" }).some((p) => basename(p) === HARBORIGNORE);
  } catch {
    return false;
  }
}

import { createHash } from "node:crypto";
import { createReadStream, existsSync, readFileSync } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";

/**
 * Harbor's task digest (lock.json `trials[].task.digest`; Harbor's Packager.compute_content_hash): SHA-256 over
 * `<relative path>\0<sha256 of the file>\n` for the task's files in path order. The files: task.toml,
 * instruction.md, README.md and trajectory.json at the top, and every file under environment/, tests/, solution/
 * and steps/ (symlinked directories are not entered), without `.harborignore` files, then filtered by the task's
 * `.gitignore` (else Harbor's default ignores: `__pycache__/`, `*.pyc`, `.DS_Store`, `*.swp`, `*.swo`, `*~`).
 * Harbor's resume compares it with the digest it computes, so a lock written with another digest is refused.
 *
 * Not reproduced: the patterns inside `.harborignore` files (tests/ and solution/ scopes), and gitignore negations
 * (`!pattern`) and `**` forms; a task using those gets a digest of its own (tmax never reads the files they
 * exclude differently).
 */

const TOP_FILES = ["task.toml", "instruction.md", "README.md", "trajectory.json"];
const TREES = ["environment", "tests", "solution", "steps"];
const DEFAULT_IGNORES = ["__pycache__/", "*.pyc", ".DS_Store", "*.swp", "*.swo", "*~"];

async function fileSha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isFile() ?? false;
}

async function walk(root: string, rel: string, out: string[]): Promise<void> {
  const entries = await readdir(join(root, rel), { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const path = `${rel}/${e.name}`;
    if (e.name === ".harborignore") continue;
    if (e.isDirectory()) await walk(root, path, out);
    else if (await isFile(join(root, path))) out.push(path); // a symlink to a file counts; one to a directory is not entered
  }
}

/** One gitignore line as a test on a relative path (its segments): the common forms, without negation or `**`. */
function gitignoreRule(line: string): ((segments: string[]) => boolean) | null {
  let p = line.trim();
  if (!p || p.startsWith("#") || p.startsWith("!") || p.includes("**")) return null;
  const dirOnly = p.endsWith("/");
  if (dirOnly) p = p.slice(0, -1);
  const anchored = p.startsWith("/") || p.includes("/");
  if (p.startsWith("/")) p = p.slice(1);
  const re = new RegExp(
    "^" +
      p
        .split("/")
        .map((part) => part.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]"))
        .join("/") +
      "$",
  );
  return (segments) => {
    // A match on a leading part of the path is a match on a directory holding the file; the whole path is the file.
    for (let n = 1; n <= segments.length; n++) {
      if (dirOnly && n === segments.length) break;
      if (anchored) {
        if (re.test(segments.slice(0, n).join("/"))) return true;
      } else if (re.test(segments[n - 1]!)) {
        return true;
      }
    }
    return false;
  };
}

export async function harborTaskDigest(taskDir: string): Promise<string> {
  const files: string[] = [];
  for (const name of TOP_FILES) if (await isFile(join(taskDir, name))) files.push(name);
  for (const tree of TREES) if ((await stat(join(taskDir, tree)).catch(() => null))?.isDirectory()) await walk(taskDir, tree, files);
  const gitignore = join(taskDir, ".gitignore");
  const lines = existsSync(gitignore) ? readFileSync(gitignore, "utf8").split(/\r?\n/) : DEFAULT_IGNORES;
  const rules = lines.map(gitignoreRule).filter((r): r is (s: string[]) => boolean => r !== null);
  const kept = files.filter((f) => !rules.some((rule) => rule(f.split("/")))).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const outer = createHash("sha256");
  for (const rel of kept) outer.update(`${rel}\0${await fileSha256(join(taskDir, rel))}\n`);
  return `sha256:${outer.digest("hex")}`;
}

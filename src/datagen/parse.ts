import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";

/**
 * Strict readers for the generator's replies. Each returns the parsed parts or throws a ReplyParseError whose
 * message is sent back to the model as is, so it says exactly what to fix.
 */
export class ReplyParseError extends Error {
  override name = "ReplyParseError";
}

/** Removes reasoning a model may emit before its answer. */
function withoutReasoning(text: string): string {
  const close = text.lastIndexOf("</think>");
  return close >= 0 ? text.slice(close + "</think>".length) : text;
}

/** The single `<tag>…</tag>` section of a reply, trimmed of one leading/trailing newline and code fences. */
export function section(reply: string, tag: string, opts: { required?: boolean } = {}): string | null {
  const text = withoutReasoning(reply);
  const re = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, "g");
  const matches = [...text.matchAll(re)];
  if (matches.length === 0) {
    if (opts.required === false) return null;
    if (text.includes(`<${tag}>`)) throw new ReplyParseError(`the <${tag}> section is not closed with </${tag}>`);
    throw new ReplyParseError(`the reply has no <${tag}>…</${tag}> section`);
  }
  if (matches.length > 1) throw new ReplyParseError(`the reply has ${matches.length} <${tag}> sections; give exactly one`);
  return unfence(matches[0]![1]!);
}

/** Strips a surrounding ``` fence (models often add one inside the tags). */
function unfence(body: string): string {
  let s = body.replace(/^\n/, "").replace(/\n\s*$/, "\n");
  const m = /^\s*```[\w+-]*\n([\s\S]*?)\n?```\s*$/.exec(s);
  if (m) s = m[1]! + "\n";
  return s.trim() === "" ? "" : s;
}

export interface TaskReply {
  summary: string;
  instruction: string;
  truth: string;
}

export function parseTaskReply(reply: string): TaskReply {
  const summary = (section(reply, "summary") ?? "").trim();
  const instruction = (section(reply, "instruction") ?? "").trim();
  const truth = (section(reply, "truth") ?? "").trim();
  if (!summary) throw new ReplyParseError("<summary> is empty");
  if (summary.includes("\n")) throw new ReplyParseError("<summary> must be a single line");
  if (summary.length > 200) throw new ReplyParseError(`<summary> has ${summary.length} characters; keep it under 120`);
  if (instruction.length < 200) throw new ReplyParseError(`<instruction> has only ${instruction.length} characters; describe the task fully`);
  if (instruction.length > 20_000) throw new ReplyParseError(`<instruction> has ${instruction.length} characters; keep it under about 1,200 words`);
  if (!truth) throw new ReplyParseError("<truth> is empty");
  if (/\{\{[^}]*\}\}/.test(instruction)) throw new ReplyParseError("<instruction> contains a {{placeholder}}; write the actual values");
  return { summary, instruction, truth };
}

export interface EnvironmentReply {
  /** Dockerfile lines after the fixed preamble. */
  dockerfileBody: string;
  /** Build-context files by relative path. */
  files: Record<string, string>;
  initialTest: string;
}

const MAX_FILE_BYTES = 48 * 1024;
const MAX_TOTAL_BYTES = 256 * 1024;
/** Build steps that need the internet (only the Debian mirror is reachable). */
const NETWORK_INSTALLS = [
  /\bpip3?\s+install\b/,
  /-m\s+pip\s+install\b/,
  /\b(npm|yarn|pnpm)\s+(install|add|i)\b/,
  /\bgem\s+install\b/,
  /\bcargo\s+install\b/,
  /\bgo\s+(get|install)\b/,
  /\bgit\s+clone\b/,
  /\b(curl|wget)\b[^\n]*https?:\/\/(?!(localhost|127\.0\.0\.1|deb\.debian\.org)[:/])/,
];

/** Relative, normalised, inside the build context. */
function safeRelPath(p: string): string {
  const norm = posix.normalize(p.trim().replace(/^\.\//, ""));
  if (!norm || norm.startsWith("/") || norm.startsWith("..") || norm === ".") throw new ReplyParseError(`file path "${p}" must be relative to the build context`);
  if (norm === "Dockerfile") throw new ReplyParseError('do not send a file named "Dockerfile"; put Dockerfile lines in <dockerfile>');
  return norm;
}

function parseFiles(reply: string): Record<string, string> {
  const files: Record<string, string> = {};
  const text = withoutReasoning(reply);
  for (const m of text.matchAll(/<file path="([^"]+)">([\s\S]*?)<\/file>/g)) {
    const path = safeRelPath(m[1]!);
    if (files[path] !== undefined) throw new ReplyParseError(`file "${path}" is given twice`);
    files[path] = unfence(m[2]!);
  }
  const opened = (text.match(/<file path="/g) ?? []).length;
  if (opened !== Object.keys(files).length) throw new ReplyParseError("a <file path=\"…\"> section is not closed with </file>");
  return files;
}

/** COPY/ADD sources named in Dockerfile lines (relative build-context paths). */
export function copySources(dockerfile: string): string[] {
  const out: string[] = [];
  for (const line of dockerfile.split("\n")) {
    const m = /^\s*(COPY|ADD)\s+(.*)$/i.exec(line);
    if (!m) continue;
    let rest = m[2]!.trim();
    if (rest.startsWith("[")) {
      try {
        const arr = JSON.parse(rest) as string[];
        out.push(...arr.slice(0, -1));
      } catch {
        throw new ReplyParseError(`cannot read the ${m[1]} line "${line.trim()}"`);
      }
      continue;
    }
    rest = rest.replace(/--\S+\s+/g, "");
    const parts = rest.split(/\s+/);
    out.push(...parts.slice(0, -1));
  }
  return out;
}

/** Compiles Python source with the host's python3 when there is one (syntax errors go back to the model). */
function checkPythonSyntax(source: string, name: string): void {
  const dir = mkdtempSync(join(tmpdir(), "tmax-pycheck-"));
  try {
    const file = join(dir, name);
    writeFileSync(file, source);
    const r = spawnSync("python3", ["-c", "import ast,sys; ast.parse(open(sys.argv[1]).read(), sys.argv[1])", file], { encoding: "utf8" });
    if (r.error) return; // no python3 on this host: the container check will catch it
    if (r.status !== 0) {
      const msg = (r.stderr || "").trim().split("\n").slice(-4).join("\n").replaceAll(dir + "/", "");
      throw new ReplyParseError(`${name} is not valid Python:\n${msg}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function parseEnvironmentReply(reply: string): EnvironmentReply {
  const body = section(reply, "dockerfile") ?? "";
  const files = parseFiles(reply);
  const initialTest = section(reply, "initial_test") ?? "";
  if (body.trim() === "") throw new ReplyParseError("<dockerfile> is empty");
  const lines = body.split("\n");
  const from = lines.find((l) => /^\s*FROM\s/i.test(l));
  if (from) throw new ReplyParseError(`<dockerfile> must not contain FROM ("${from.trim()}"); it continues the fixed preamble`);
  const arg = lines.find((l) => /^\s*ARG\s/i.test(l));
  if (arg) throw new ReplyParseError("<dockerfile> must not use build arguments (ARG)");
  if (/\{\{[^}]*\}\}/.test(body)) throw new ReplyParseError("<dockerfile> contains a {{placeholder}}");
  const net = lines.find((l) => NETWORK_INSTALLS.some((re) => re.test(l)));
  if (net) {
    throw new ReplyParseError(`"${net.trim()}" needs network access the build does not have; install Debian packages with apt-get instead, or write the code into the build context`);
  }
  for (const src of copySources(body)) {
    const norm = posix.normalize(src);
    if (/^https?:/.test(src)) throw new ReplyParseError(`COPY/ADD from a URL (${src}) is not possible offline`);
    const provided = Object.keys(files).some((f) => f === norm || f.startsWith(norm.replace(/\/$/, "") + "/") || norm === ".");
    if (!provided) throw new ReplyParseError(`the Dockerfile copies "${src}", but no <file path="${src}"> was given`);
  }
  let total = 0;
  for (const [path, content] of Object.entries(files)) {
    const bytes = Buffer.byteLength(content);
    total += bytes;
    if (bytes > MAX_FILE_BYTES) throw new ReplyParseError(`${path} is ${bytes} bytes; generate large data with a script during the build instead of pasting it`);
    if (/[A-Za-z0-9+/=]{600,}/.test(content)) throw new ReplyParseError(`${path} contains a long encoded blob; generate it with a script instead`);
  }
  if (total > MAX_TOTAL_BYTES) throw new ReplyParseError(`the build context is ${total} bytes; keep it small and generate data during the build`);
  if (initialTest.trim() === "") throw new ReplyParseError("<initial_test> is empty");
  if (!/def test_/.test(initialTest)) throw new ReplyParseError("<initial_test> has no pytest test function (def test_…)");
  checkPythonSyntax(initialTest, "test_initial_state.py");
  for (const [path, content] of Object.entries(files)) if (path.endsWith(".py")) checkPythonSyntax(content, posix.basename(path));
  return { dockerfileBody: body.replace(/\n*$/, "\n"), files, initialTest };
}

export function parseTestsReply(reply: string): { finalTest: string } {
  const finalTest = section(reply, "final_test") ?? "";
  if (!/def test_/.test(finalTest)) throw new ReplyParseError("<final_test> has no pytest test function (def test_…)");
  checkPythonSyntax(finalTest, "test_final_state.py");
  return { finalTest };
}

export function parseSolutionReply(reply: string): { solveSh: string } {
  let solveSh = section(reply, "solve_sh") ?? "";
  if (solveSh.trim() === "") throw new ReplyParseError("<solve_sh> is empty");
  if (!solveSh.startsWith("#!")) solveSh = `#!/bin/bash\n${solveSh}`;
  const r = spawnSync("bash", ["-n"], { input: solveSh, encoding: "utf8" });
  if (!r.error && r.status !== 0) throw new ReplyParseError(`solve.sh has a bash syntax error:\n${r.stderr.trim().replace(/^bash: /gm, "")}`);
  return { solveSh };
}

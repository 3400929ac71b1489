import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { z } from "zod";

/** A JSON document that could not be read, parsed or validated; the message names the file and the field. */
export class FileFormatError extends Error {
  override name = "FileFormatError";
  constructor(
    readonly file: string,
    /** Dotted path of the offending field ("" for the whole document). */
    readonly field: string,
    readonly problem: string,
  ) {
    super(field ? `${file}: ${field}: ${problem}` : `${file}: ${problem}`);
  }
}

/** A zod issue path as a dotted field name: ["stats", "evals", "x", "n_trials"] → "stats.evals.x.n_trials". */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path.map((p) => String(p)).join(".");
}

/** Validates an already-parsed document; throws FileFormatError naming `file` and the first invalid field. */
export function validateDocument<S extends z.ZodType>(file: string, data: unknown, schema: S): z.output<S> {
  const parsed = schema.safeParse(data);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new FileFormatError(file, fieldPath(issue.path), issue.message);
}

/** Parses JSON text read from `file`; throws FileFormatError naming the file when it is not JSON. */
export function parseJsonText(file: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new FileFormatError(file, "", `not valid JSON (${(err as Error).message})`);
  }
}

/** Parses JSON text and validates it (see validateDocument). */
export function parseJsonDocument<S extends z.ZodType>(file: string, text: string, schema: S): z.output<S> {
  return validateDocument(file, parseJsonText(file, text), schema);
}

/** Reads, parses and validates a JSON file. A missing file throws the fs error (code ENOENT) unchanged. */
export function readJsonDocument<S extends z.ZodType>(file: string, schema: S): z.output<S> {
  return parseJsonDocument(file, readFileSync(file, "utf8"), schema);
}

/** True for the fs error of a path that does not exist (or whose parent is not a directory). */
export function isMissingFile(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}

/** Like readJsonDocument, read asynchronously; null when the file does not exist. */
export async function readOptionalJsonDocument<S extends z.ZodType>(file: string, schema: S): Promise<z.output<S> | null> {
  const text = await readOptionalText(file);
  return text === null ? null : parseJsonDocument(file, text, schema);
}

/** A file's text, or null when it does not exist. */
export async function readOptionalText(file: string): Promise<string | null> {
  try {
    return await readFile(file, "utf8");
  } catch (err) {
    if (isMissingFile(err)) return null;
    throw err;
  }
}

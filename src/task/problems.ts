/** A problem found in a task directory, pointing at the file and (when known) the field. */
export interface TaskProblem {
  file: string;
  field?: string;
  message: string;
  severity: "error" | "warning";
}

export function formatProblem(p: TaskProblem): string {
  const where = p.field ? `${p.file}: ${p.field}` : p.file;
  return `${where}: ${p.message}`;
}

/** Thrown when a task cannot be loaded; carries every problem found, not just the first. */
export class TaskLoadError extends Error {
  override name = "TaskLoadError";
  constructor(
    readonly taskDir: string,
    readonly problems: TaskProblem[],
  ) {
    super(problems.filter((p) => p.severity === "error").map(formatProblem).join("\n") || `invalid task: ${taskDir}`);
  }
}

/** Renders a TOML/zod path as `[section.sub].key`, the way task.toml authors think of fields. */
export function tomlField(path: readonly PropertyKey[]): string {
  const parts = path.map((p) => (typeof p === "number" ? `[${p}]` : String(p)));
  if (parts.length === 0) return "(root)";
  if (parts.length === 1) return parts[0]!;
  const key = parts[parts.length - 1]!;
  const section = parts.slice(0, -1).join(".").replace(/\.\[/g, "[");
  return key.startsWith("[") ? `[${section}]${key}` : `[${section}].${key}`;
}

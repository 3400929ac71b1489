import type { Resources } from "./environment.js";

/** The limits of a spec that are passed to the container engine (storage and GPUs are not, yet). */
type EngineLimit = "cpus" | "memoryMb";

/**
 * The container engine refused a resource limit when the container was created or started. The message names the
 * limit the way its reader knows it (`subject`) and keeps the engine's own words; `cause` is the engine's error.
 */
export class ResourceLimitError extends Error {
  override name = "ResourceLimitError";
  constructor(
    /** The limit as its reader knows it: "resources.memoryMb = 1" for an EnvironmentSpec, a task.toml field for a trial. */
    subject: string,
    readonly resource: EngineLimit,
    readonly value: number,
    readonly engineMessage: string,
    options: { cause: unknown },
  ) {
    super(`${subject}: the container engine refused it: ${engineMessage}`, options);
  }
}

/** The engine's own message in a Docker-API error ("(HTTP code 500) server error - <message> " → "<message>"). */
export function engineMessage(err: unknown): string {
  const json = (err as { json?: { message?: unknown } } | null)?.json;
  if (typeof json?.message === "string" && json.message.trim() !== "") return json.message.trim();
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/^\(HTTP code \d+\)[^-]*- /, "").trim();
}

/** Which words in an engine's message point at which limit (memory first: swap limits derive from it). */
const LIMIT_WORDS: [EngineLimit, RegExp][] = [
  ["memoryMb", /memory|memoryswap|\boom\b/i],
  ["cpus", /\bcpus?\b|nanocpus|cpu[ -](?:quota|period|shares)/i],
];

/**
 * The error to report when creating or starting the container of `displayName` failed: a ResourceLimitError naming
 * the spec's limit the engine's message is about, else the engine's message prefixed with what failed. The engine's
 * error is the cause.
 */
export function containerStartError(err: unknown, displayName: string, step: "create" | "start", resources: Resources): Error {
  const message = engineMessage(err);
  for (const [resource, words] of LIMIT_WORDS) {
    const value = resources[resource];
    if (value !== null && words.test(message)) {
      return new ResourceLimitError(`${displayName}: resources.${resource} = ${value}`, resource, value, message, { cause: err });
    }
  }
  return new Error(`${displayName}: the container engine could not ${step} the container: ${message}`, { cause: err });
}

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

/** Socket-level error codes that mean the engine's API endpoint is gone, not that a request was refused. */
const CONNECTION_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ENOENT", "EPIPE", "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT", "ECONNABORTED", "EAI_AGAIN"]);

/**
 * Whether `err` (or its cause) says the engine could not be reached at all (connection refused, socket file gone,
 * broken pipe, socket hang up…), as opposed to an answer of the engine (an HTTP status), which is about the request.
 */
export function isConnectionError(err: unknown): boolean {
  for (let e = err as { code?: unknown; statusCode?: unknown; message?: unknown; cause?: unknown } | null, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.statusCode === "number") return false;
    if (typeof e.code === "string" && CONNECTION_CODES.has(e.code)) return true;
    if (typeof e.message === "string" && /socket hang up|connect ECONNREFUSED|connect ENOENT|write EPIPE/i.test(e.message)) return true;
  }
  return false;
}

/**
 * The container engine a trial ran on stopped answering (its service died, its socket went away). The trial is not
 * at fault: the job runs it again from scratch on another engine and counts it as an infrastructure retry.
 */
export const ENGINE_UNAVAILABLE = "EngineUnavailableError";

export class EngineUnavailableError extends Error {
  override name = ENGINE_UNAVAILABLE;
  constructor(
    readonly engine: string,
    options: { cause: unknown },
  ) {
    super(`container engine ${engine} stopped answering: ${(options.cause as Error | null)?.message ?? String(options.cause)}`, options);
  }
}

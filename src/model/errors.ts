import {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  AuthenticationError,
  BadRequestError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
} from "openai";

export type ModelErrorKind =
  | "authentication"
  | "permission"
  | "not_found"
  | "context_window"
  | "unsupported_parameter"
  | "bad_request"
  | "transient"
  | "aborted";

const CONTEXT_WINDOW =
  /context length|context window|maximum context|context_length_exceeded|too many tokens|prompt is too long|input is too long|reduce the length of the messages|exceeds the model's max/i;
const UNSUPPORTED = /unsupported (value|parameter)|unrecognized request argument|unknown parameter|is not supported|extra inputs are not permitted/i;

/** Exception type names recorded in trial results (LiteLLM's names, which Harbor jobs show). */
const NAMES: Record<ModelErrorKind, string> = {
  authentication: "AuthenticationError",
  permission: "PermissionDeniedError",
  not_found: "NotFoundError",
  context_window: "ContextWindowExceededError",
  unsupported_parameter: "UnsupportedParamsError",
  bad_request: "BadRequestError",
  transient: "APIConnectionError",
  aborted: "AbortError",
};

/** A model-server failure with the decision that matters: retry it, stop the run, or end the run gracefully. */
export class ModelError extends Error {
  constructor(
    readonly kind: ModelErrorKind,
    message: string,
    readonly status: number | null = null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = NAMES[kind];
  }

  get retryable(): boolean {
    return this.kind === "transient";
  }
}

/** Thrown when every retry of a transient fault failed. Carries the last error. */
export class ModelUnavailableError extends ModelError {
  constructor(kind: ModelErrorKind, message: string, status: number | null = null, options?: { cause?: unknown }) {
    super(kind, message, status, options);
    this.name = "ModelUnavailableError";
  }
}

function hint(kind: ModelErrorKind, baseUrl: string, model: string): string {
  switch (kind) {
    case "authentication":
      return ` — check --api-key / OPENAI_API_KEY for ${baseUrl}`;
    case "not_found":
      return ` — is "${model}" the served model name? (GET ${baseUrl.replace(/\/$/, "")}/models lists them)`;
    default:
      return "";
  }
}

/** Maps an error from the openai SDK (or the network) to a ModelError. */
export function classifyError(err: unknown, ctx: { baseUrl: string; model: string }): ModelError {
  if (err instanceof ModelError) return err;
  if (err instanceof APIUserAbortError) return new ModelError("aborted", "request aborted", null, { cause: err });
  if (err instanceof APIConnectionTimeoutError) {
    return new ModelError("transient", `request to ${ctx.baseUrl} timed out`, null, { cause: err });
  }
  if (err instanceof APIConnectionError) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return new ModelError("transient", `cannot reach ${ctx.baseUrl}: ${cause?.code ?? cause?.message ?? err.message}`, null, { cause: err });
  }
  if (err instanceof APIError) {
    const status: number | null = typeof err.status === "number" ? err.status : null;
    const text = err.message;
    let kind: ModelErrorKind;
    if (err instanceof AuthenticationError) kind = "authentication";
    else if (err instanceof PermissionDeniedError) kind = "permission";
    else if (err instanceof NotFoundError) kind = "not_found";
    else if (err instanceof RateLimitError) kind = "transient";
    else if (CONTEXT_WINDOW.test(text)) kind = "context_window";
    else if (err instanceof BadRequestError && UNSUPPORTED.test(text)) kind = "unsupported_parameter";
    else if (status !== null && (status >= 500 || status === 408 || status === 409)) kind = "transient";
    else if (status === null) kind = "transient";
    else kind = "bad_request";
    return new ModelError(kind, `model server answered ${status ?? "?"}: ${text}${hint(kind, ctx.baseUrl, ctx.model)}`, status, { cause: err });
  }
  const e = err as { name?: string; message?: string; code?: string };
  if (e?.name === "AbortError") return new ModelError("aborted", "request aborted", null, { cause: err });
  if (e?.code && /ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|EAI_AGAIN|UND_ERR/.test(e.code)) {
    return new ModelError("transient", `cannot reach ${ctx.baseUrl}: ${e.code}`, null, { cause: err });
  }
  return new ModelError("bad_request", e?.message ?? String(err), null, { cause: err });
}

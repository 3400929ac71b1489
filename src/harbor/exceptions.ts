/**
 * Trial failures carry Harbor's exception type names, so `exception_info.exception_type` and job statistics read the
 * same as Harbor's. Any other thrown error is recorded under its own name.
 */
export class TrialError extends Error {
  constructor(
    readonly exceptionType: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = exceptionType;
  }
}

const make = (type: string) =>
  class extends TrialError {
    constructor(message: string, options?: { cause?: unknown }) {
      super(type, message, options);
    }
  };

export const EnvironmentStartTimeoutError = make("EnvironmentStartTimeoutError");
export const AgentSetupTimeoutError = make("AgentSetupTimeoutError");
export const AgentTimeoutError = make("AgentTimeoutError");
export const VerifierTimeoutError = make("VerifierTimeoutError");
export const RewardFileNotFoundError = make("RewardFileNotFoundError");
export const RewardFileEmptyError = make("RewardFileEmptyError");
export const VerifierOutputParseError = make("VerifierOutputParseError");
export const HealthcheckError = make("HealthcheckError");
export const CancelledError = make("CancelledError");

/**
 * Errors recorded in exception_info after which the trial still goes on to verification (as in Harbor; tmax's own
 * agents raise only the timeout, the other name is Harbor's for agents that report a failing exit code).
 */
export const RECORDED_AND_VERIFIED = new Set(["AgentTimeoutError", "NonZeroAgentExitCodeError"]);

/** Harbor's default: never retried at job level (the task itself, not the infrastructure, produced them). */
export const DEFAULT_RETRY_EXCLUDE = [
  "AgentTimeoutError",
  "VerifierTimeoutError",
  "RewardFileNotFoundError",
  "RewardFileEmptyError",
  "VerifierOutputParseError",
];

export function exceptionTypeOf(err: unknown): string {
  if (err instanceof TrialError) return err.exceptionType;
  if (err instanceof Error) return err.name && err.name !== "Error" ? err.name : "RuntimeError";
  return "RuntimeError";
}

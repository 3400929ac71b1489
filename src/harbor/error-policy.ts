/**
 * Harbor's error policy (harbor ≥ 0.26, `harbor/models/trial/error_policy.py`), the part statistics need: whether a
 * trial that ended with an exception of a given type still has a valid reward. Harbor ≥ 0.26 leaves a trial whose
 * reward is not valid out of its job mean altogether (tmax's headline mean, and the Terminal-Bench figures, count
 * a missing reward as 0 instead; `tmax stats` reports both). An exception type not listed keeps its reward valid,
 * as in Harbor.
 *
 * Harbor ≥ 0.26 also records the decision in result.json itself (`reward_valid`, and each exception's `policy` /
 * `policy_override`); records.ts takes it from there when present and only falls back on this table.
 */
const VOIDS_REWARD: ReadonlySet<string> = new Set([
  // the sandbox or agent never got going (retried, not graded)
  "EnvironmentStartTimeoutError",
  "SandboxBuildFailedError",
  "AgentSetupTimeoutError",
  "HealthcheckError",
  "SandboxLikelyOutOfMemoryError",
  "MemoryLimitExceededError",
  "SSHAccessError",
  "GKEExecStreamClosedError",
  "GKEPodNotFoundError",
  "RuntimeRequestError",
  "AddTestsDirError",
  "DownloadVerifierDirError",
  // the model API failed (retried, graded)
  "ApiError",
  "ApiRateLimitError",
  "ApiInternalServerError",
  "ApiOverloadedError",
  "ApiConnectionClosedError",
  "ApiResponseStalledError",
  "UnknownApiError",
  "NetworkConnectionError",
  "ApiConnectionError",
  "ApiUsageLimitError",
  "RateLimitError",
  "InternalServerError",
  "ServiceUnavailableError",
  "APIConnectionError",
  "APIError",
  "Timeout",
  // a request the model cannot serve, or a verifier that produced no reward (not retried, graded)
  "UnsupportedModelParametersError",
  "BadRequestError",
  "UnprocessableEntityError",
  "UnsupportedParamsError",
  "APIResponseValidationError",
  "BudgetExceededError",
  "VerifierTimeoutError",
  "RewardFileNotFoundError",
  "RewardFileEmptyError",
  "VerifierOutputParseError",
  // configuration and access errors, cancellation (neither retried nor graded)
  "AgentAuthenticationError",
  "ModelNotFoundError",
  "ApiProviderResourceNotFoundError",
  "AuthenticationError",
  "PermissionDeniedError",
  "NotFoundError",
  "ServiceOperationsUnsupportedError",
  "VercelScopeError",
  "DspyImportError",
  "MissingExtraError",
  "RegradeError",
  "CancelledError",
]);

/** Whether an exception of this type leaves the trial's reward valid under Harbor's default error policy. */
export function keepsRewardValid(exceptionType: string): boolean {
  return !VOIDS_REWARD.has(exceptionType);
}

import { createHash } from "node:crypto";

/**
 * vLLM's `cache_salt` for a sample of prompt group `group` under policy version `policyVersion`. Requests with
 * different salts never share prefix-cache entries, so:
 * - the samples of one group at one version share the KV of their common prompt (the point of prefix caching);
 * - after a weight update no request reuses KV computed under the old weights (reusing it, e.g. for a shared system
 *   prompt, made the train/inference mismatch explode in several RL frameworks);
 * - groups never share cache entries with each other.
 * The salt is a SHA-256 of both values, unambiguous (("g1", 12) and ("g11", 2) differ), 43 base64url characters
 * (vLLM accepts 1 to 1024).
 */
export function cacheSalt(group: string, policyVersion: number): string {
  if (group.length === 0) throw new RangeError("cacheSalt: the group id is empty");
  if (!Number.isSafeInteger(policyVersion) || policyVersion < 0) {
    throw new RangeError(`cacheSalt: the policy version must be an integer ≥ 0, not ${policyVersion}`);
  }
  return createHash("sha256")
    .update(JSON.stringify(["tmax prefix-cache salt", group, policyVersion]))
    .digest("base64url");
}

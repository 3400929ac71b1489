import { hostname } from "node:os";
import type { ProcessIdentity } from "../util/processes.js";

/** Labels every tmax container carries; they are how `tmax sandboxes list/prune` finds and judges them. */

/** The session (one tmax process opening one engine) that created the container. */
export const SESSION_LABEL = "tmax.session";
/** The job's id (result.json's `id`) the container's trial belongs to. */
export const JOB_LABEL = "tmax.job";
export const TRIAL_LABEL = "tmax.trial";
/** The tmax process that created the container: `<host>/<pid>/<start ticks>`, so a later tmax can tell whether it lives. */
export const OWNER_LABEL = "tmax.owner";

export interface ContainerOwner {
  host: string;
  process: ProcessIdentity;
}

export function ownerLabelValue(owner: ContainerOwner): string {
  return `${owner.host}/${owner.process.pid}/${owner.process.startTicks ?? ""}`;
}

/** The owner an OWNER_LABEL value names, or null when the value is missing or malformed. */
export function parseOwnerLabel(value: string | undefined): ContainerOwner | null {
  const m = value ? /^(.+)\/(\d+)\/(\d*)$/.exec(value) : null;
  if (!m) return null;
  return { host: m[1]!, process: { pid: Number(m[2]), startTicks: m[3] === "" ? null : Number(m[3]) } };
}

export function thisHost(): string {
  return hostname();
}

import { formatHostPattern, parseHostPattern, type HostPattern } from "../util/host-pattern.js";
import type { TaskProblem } from "./problems.js";

/**
 * The network a task's container gets, in Harbor's terms (task.toml schema 1.3+):
 * - `public`: the engine's default network;
 * - `no-network`: loopback only;
 * - `allowlist`: only the hosts of `allowedHosts` (an empty list denies all egress).
 */
export type TaskNetworkPolicy =
  | { mode: "public" }
  | { mode: "no-network" }
  | { mode: "allowlist"; allowedHosts: HostPattern[] };

type Mode = TaskNetworkPolicy["mode"];

/** The keys of task.toml this module reads (already type-checked by the schema in config.ts). */
interface NetworkKeys {
  network_mode?: Mode | null;
  allowed_hosts?: string[] | null;
}

interface TaskTomlNetworkKeys {
  environment?: NetworkKeys & { allow_internet?: boolean };
  agent?: NetworkKeys;
  verifier?: NetworkKeys;
}

/** One section's `allowed_hosts`, parsed and de-duplicated; a problem per bad entry. */
function parseAllowedHosts(hosts: string[], section: string, file: string, problems: TaskProblem[]): HostPattern[] {
  const out: HostPattern[] = [];
  const seen = new Set<string>();
  hosts.forEach((entry, i) => {
    const parsed = parseHostPattern(entry);
    if ("error" in parsed) {
      problems.push({ file, field: `[${section}].allowed_hosts[${i}]`, message: `${parsed.error} (got ${JSON.stringify(entry)})`, severity: "error" });
      return;
    }
    const key = formatHostPattern(parsed);
    if (!seen.has(key)) {
      seen.add(key);
      out.push(parsed);
    }
  });
  return out;
}

/**
 * A section's explicit policy (null = the section sets none). `allowed_hosts` is valid only with
 * `network_mode = "allowlist"`, as in Harbor; tmax also refuses it with no `network_mode` at all, where Harbor would
 * take an empty list as "public" and drop `allow_internet = false`.
 */
function sectionPolicy(keys: NetworkKeys | undefined, section: string, file: string, problems: TaskProblem[]): TaskNetworkPolicy | null {
  const mode = keys?.network_mode ?? null;
  const hosts = keys?.allowed_hosts ?? null;
  if (hosts !== null && mode !== "allowlist") {
    const now = mode === null ? "is not set" : `is "${mode}"`;
    problems.push({
      file,
      field: `[${section}].allowed_hosts`,
      message: `is only valid with [${section}].network_mode = "allowlist" (network_mode ${now})`,
      severity: "error",
    });
    return null;
  }
  if (mode === null) return null;
  if (mode === "allowlist") return { mode, allowedHosts: parseAllowedHosts(hosts ?? [], section, file, problems) };
  return { mode };
}

function samePolicy(a: TaskNetworkPolicy, b: TaskNetworkPolicy): boolean {
  if (a.mode !== b.mode) return false;
  if (a.mode !== "allowlist" || b.mode !== "allowlist") return true;
  const key = (p: TaskNetworkPolicy & { mode: "allowlist" }) => p.allowedHosts.map(formatHostPattern).sort().join(",");
  return key(a) === key(b);
}

/** The policy as one line, for `tasks check` and logs: `public`, `no-network`, `allowlist (pypi.org, *.example.com)`. */
export function describeNetworkPolicy(p: TaskNetworkPolicy): string {
  if (p.mode !== "allowlist") return p.mode;
  return p.allowedHosts.length === 0 ? "allowlist (no hosts: all egress denied)" : `allowlist (${p.allowedHosts.map(formatHostPattern).join(", ")})`;
}

/**
 * Resolves the container's network policy as Harbor does: `[environment].network_mode` (with `allowed_hosts`) when
 * set, else the deprecated `allow_internet` (false → no-network), else public. When `network_mode` is set,
 * Harbor ignores `allow_internet` even if the two disagree; tmax does the same and reports the disagreement as a
 * warning. `[agent]`/`[verifier]` overrides (a policy switched while a phase runs) are an error unless they equal
 * the baseline: tmax sets a container's network once, and running such a task with the baseline would run it wrong.
 * Returns undefined when a problem (an error, in `problems`) leaves the policy unknown.
 */
export function resolveNetworkPolicy(raw: TaskTomlNetworkKeys, file: string, problems: TaskProblem[]): TaskNetworkPolicy | undefined {
  const errorsBefore = problems.filter((p) => p.severity === "error").length;
  const env = raw.environment ?? {};
  const explicit = sectionPolicy(env, "environment", file, problems);
  const allowInternet = env.allow_internet;
  let baseline: TaskNetworkPolicy;
  if (explicit) {
    baseline = explicit;
    const conflict = allowInternet === false ? explicit.mode === "public" : allowInternet === true && explicit.mode !== "public";
    if (conflict) {
      problems.push({
        file,
        field: "[environment].allow_internet",
        message: `${allowInternet} disagrees with [environment].network_mode = "${explicit.mode}"; network_mode wins (as in Harbor), so the container gets ${describeNetworkPolicy(explicit)}. Remove allow_internet (deprecated)`,
        severity: "warning",
      });
    }
  } else {
    baseline = allowInternet === false ? { mode: "no-network" } : { mode: "public" };
  }
  const environmentValid = problems.filter((p) => p.severity === "error").length === errorsBefore;
  for (const section of ["agent", "verifier"] as const) {
    const phase = sectionPolicy(raw[section], section, file, problems);
    if (phase && environmentValid && !samePolicy(phase, baseline)) {
      problems.push({
        file,
        field: `[${section}].network_mode`,
        message: `the ${section} phase's network policy (${describeNetworkPolicy(phase)}) differs from the environment's (${describeNetworkPolicy(baseline)}); tmax sets the network once per container and cannot switch it for one phase. Set the policy in [environment] instead`,
        severity: "error",
      });
    }
  }
  return problems.filter((p) => p.severity === "error").length > errorsBefore ? undefined : baseline;
}

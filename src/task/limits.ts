/**
 * Resource values a container can actually be given, checked when a task is loaded so that a value that cannot work
 * is reported against its task.toml field instead of failing later with the container engine's own message.
 */

/**
 * The smallest memory limit accepted, in MB: Docker's documented minimum for a container's memory. Podman passes
 * smaller limits on, and runc then fails to start the container once its init uses more (about 3 MB).
 */
export const MIN_MEMORY_MB = 6;

/**
 * The largest memory or storage limit accepted, in MB: 1 PiB, beyond any host. Much larger values stop fitting the
 * engine's 64-bit byte counts (podman also doubles the memory limit for swap) and fail when the container is created.
 */
export const MAX_SIZE_MB = 2 ** 30;

/** What this host can give one container; limits above it are reported as warnings. */
export interface HostCapacity {
  memoryMb: number;
  cpus: number;
}

/** Why a memory or storage limit of `mb` megabytes cannot work (to follow "<value> is"), or null when it can. */
export function sizeLimitProblem(kind: "memory" | "storage", mb: number): string | null {
  if (!Number.isFinite(mb) || mb > MAX_SIZE_MB) return `more than 1 PiB (${MAX_SIZE_MB} MB): no host can provide it`;
  if (kind === "memory" && mb < MIN_MEMORY_MB) return `below the ${MIN_MEMORY_MB} MB a container needs to start`;
  if (mb < 1) return "less than 1 MB";
  return null;
}

/** Why a memory limit or CPU count would not fit this host (to follow "<value> is"), or null when it fits. */
export function hostLimitProblem(kind: "memory" | "cpus", value: number, host: HostCapacity): string | null {
  if (kind === "memory") {
    return value > host.memoryMb ? `more than this host's ${host.memoryMb} MB of RAM: the task may run out of memory here` : null;
  }
  return value > host.cpus ? `more than this host's ${host.cpus} CPUs: runs here are limited to ${host.cpus}` : null;
}

import pc from "picocolors";
import { openProvider, type EngineProvider, type EnvironmentKind } from "../environment/providers.js";

/**
 * Opens the container backend for a command; what the sweep of dead tmax processes removed is said on stderr.
 * `signal` is the command's interrupt: it stops image builds and pulls in flight.
 */
export function openEngine(kind: EnvironmentKind, signal: AbortSignal): Promise<EngineProvider> {
  return openProvider(kind, { log: (line) => console.error(pc.yellow(line)), signal });
}

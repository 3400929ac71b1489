import type { Agent, AgentOptions } from "./agent.js";

/** Agents by `-a` name. Each is imported on first use, so commands load only the agent they run. */
const factories = new Map<string, (opts: AgentOptions) => Promise<Agent>>([
  ["oracle", async (opts) => new (await import("./oracle.js")).OracleAgent(opts)],
  ["nop", async () => new (await import("./nop.js")).NopAgent()],
  ["tmax", async (opts) => new (await import("./tmax/harness.js")).TmaxAgent(opts)],
]);

function agentNames(): string[] {
  return [...factories.keys()];
}

export async function createAgent(name: string, opts: AgentOptions): Promise<Agent> {
  const factory = factories.get(name);
  if (!factory) throw new Error(`unknown agent "${name}"; available: ${agentNames().join(", ")}`);
  return factory(opts);
}

import type { Agent, AgentFactory, AgentOptions } from "./agent.js";
import { NopAgent, OracleAgent } from "./oracle.js";

const factories = new Map<string, AgentFactory>([
  ["oracle", (opts) => new OracleAgent(opts)],
  ["nop", () => new NopAgent()],
]);

/** Adds an agent under a name usable with `-a NAME`. */
export function registerAgent(name: string, factory: AgentFactory): void {
  factories.set(name, factory);
}

export function agentNames(): string[] {
  return [...factories.keys()];
}

export function createAgent(name: string, opts: AgentOptions): Agent {
  const factory = factories.get(name);
  if (!factory) throw new Error(`unknown agent "${name}"; available: ${agentNames().join(", ")}`);
  return factory(opts);
}

import type { Agent } from "./agent.js";

/** Does nothing: verifies that a task's tests fail on the untouched environment. */
export class NopAgent implements Agent {
  readonly name = "nop";
  readonly version = "1.0.0";
  readonly modelInfo = null;
  async setup(): Promise<void> {}
  async run(): Promise<void> {}
}

import { join } from "node:path";

/** The file whose presence makes a directory a trial (its result.json). */
export const TRIAL_RESULT_FILE = "result.json";

/** Files and folders of one trial directory (Harbor's layout). */
export class TrialPaths {
  constructor(readonly dir: string) {}
  get config(): string {
    return join(this.dir, "config.json");
  }
  get result(): string {
    return join(this.dir, TRIAL_RESULT_FILE);
  }
  get log(): string {
    return join(this.dir, "trial.log");
  }
  get exception(): string {
    return join(this.dir, "exception.txt");
  }
  get agent(): string {
    return join(this.dir, "agent");
  }
  get verifier(): string {
    return join(this.dir, "verifier");
  }
  get artifacts(): string {
    return join(this.dir, "artifacts");
  }
}

/** Harbor's trial name: the task name cut to 32 characters, two underscores, a 7-character id. */
export function trialNameFor(taskName: string, id: string): string {
  const short = (taskName.split("/").pop() ?? taskName).slice(0, 32);
  return `${short}__${id}`;
}

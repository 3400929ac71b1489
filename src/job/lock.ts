import type { Task } from "../task/task.js";
import { localIso } from "../util/time.js";
import { TMAX_VERSION } from "../version.js";
import type { JobConfig, Lock } from "./schema.js";

/** lock.json: the invocation and, per planned trial, the task it ran with that task's digest. */
export function buildLock(config: JobConfig, tasks: Task[], checksums: Map<Task, string>, source: string | null, invocation: string[]): Lock {
  const trials: Lock["trials"] = [];
  for (const task of tasks) {
    const digest = `sha256:${checksums.get(task)}`;
    for (let i = 0; i < config.n_attempts; i++) {
      trials.push({
        task: { name: task.name, type: "local", digest, source, path: task.dir, git_url: null, git_commit_id: null },
        timeout_multiplier: config.timeout_multiplier,
        agent: config.agents[0]!,
        environment: config.environment,
        verifier: config.verifier,
      });
    }
  }
  return {
    schema_version: 1,
    created_at: localIso(),
    harbor: { version: `tmax-${TMAX_VERSION}`, is_editable: false },
    tmax: { version: TMAX_VERSION },
    invocation,
    n_concurrent_trials: config.n_concurrent_trials,
    retry: config.retry,
    trials,
  };
}

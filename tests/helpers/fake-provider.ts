import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Environment, EnvironmentProvider, EnvironmentSpec, ExecResult, ImageStore } from "../../src/environment/environment.js";

const EXEC_OK: ExecResult = { stdout: "", stderr: "", returnCode: 0, timedOut: false, stdoutDropped: 0, stderrDropped: 0, durationSec: 0 };

/**
 * A container provider whose environments do nothing, for testing the orchestration without podman: every exec
 * succeeds, and "running the tests" (a command naming /tests/test.sh) writes verifier/reward.txt with
 * `rewardFor(task name, run)` (none when it is null) and, when given, verifier/test-stdout.txt; `run` counts the test
 * runs in that environment from 0 (a multi-step trial's steps).
 */
export function fakeProvider(
  opts: { rewardFor?: (task: string, run: number) => number | null; testStdout?: string | ((task: string, run: number) => string) } = {},
): EnvironmentProvider {
  const env = (spec: EnvironmentSpec): Environment => {
    let runs = 0;
    return {
      id: spec.trialName,
      mounted: true,
      start: () => Promise.resolve(),
      exec: (command) => {
        if (command.includes("/tests/test.sh")) {
          const run = runs++;
          const reward = opts.rewardFor ? opts.rewardFor(spec.displayName, run) : 1;
          if (reward !== null) writeFileSync(join(spec.logs.verifier, "reward.txt"), `${reward}\n`);
          const stdout = typeof opts.testStdout === "function" ? opts.testStdout(spec.displayName, run) : opts.testStdout;
          if (stdout !== undefined) writeFileSync(join(spec.logs.verifier, "test-stdout.txt"), stdout);
        }
        return Promise.resolve(EXEC_OK);
      },
      uploadFile: () => Promise.resolve(),
      uploadDir: () => Promise.resolve(),
      downloadFile: () => Promise.resolve(),
      downloadDir: () => Promise.resolve(),
      isDir: () => Promise.resolve(false),
      isFile: () => Promise.resolve(false),
      stop: () => Promise.resolve(),
    };
  };
  return {
    name: "fake",
    imageStore: {} as ImageStore,
    createEnvironment: env,
    prepareImage: () => Promise.resolve("fake"),
    removeAll: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Environment, EnvironmentProvider, EnvironmentSpec, ExecResult, ImageStore } from "../../src/environment/environment.js";

const EXEC_OK: ExecResult = { stdout: "", stderr: "", returnCode: 0, timedOut: false, stdoutDropped: 0, stderrDropped: 0, durationSec: 0 };

/**
 * A container provider whose environments do nothing, for testing the orchestration without podman: every exec
 * succeeds, and "running the tests" (a command naming /tests/test.sh) writes verifier/reward.txt with
 * `rewardFor(task name)` and, when given, verifier/test-stdout.txt.
 */
export function fakeProvider(opts: { rewardFor?: (task: string) => number; testStdout?: string } = {}): EnvironmentProvider {
  const env = (spec: EnvironmentSpec): Environment => ({
    id: spec.trialName,
    mounted: true,
    start: () => Promise.resolve(),
    exec: (command) => {
      if (command.includes("/tests/test.sh")) {
        writeFileSync(join(spec.logs.verifier, "reward.txt"), `${opts.rewardFor?.(spec.displayName) ?? 1}\n`);
        if (opts.testStdout !== undefined) writeFileSync(join(spec.logs.verifier, "test-stdout.txt"), opts.testStdout);
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
  });
  return {
    name: "fake",
    imageStore: {} as ImageStore,
    createEnvironment: env,
    prepareImage: () => Promise.resolve("fake"),
    removeAll: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}

import { runOptionsWithDefaults, type RunOptions } from "../../src/job/config.js";

/** Complete `tmax run` options with the CLI defaults, overridable per test. */
export const runOptions = (over: Partial<RunOptions> = {}): RunOptions => runOptionsWithDefaults({ path: "/data/ds", jobName: "j", ...over });

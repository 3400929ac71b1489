import assert from "node:assert/strict";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { Hono } from "hono";
import type { JobResponse, JobsResponse, TrialResponse } from "../../src/view/api-types.js";
import { apiRoutes } from "../../src/view/api.js";
import { Catalog } from "../../src/view/catalog.js";
import { runCli } from "../helpers/cli.js";
import { tempDir, writeTask } from "../helpers/task-fixture.js";

// tmax view's API on a job `tmax run -a oracle` wrote in real containers: one task the oracle solves, one whose
// reference solution does not, two attempts each.

describe("tmax view on a real oracle job", () => {
  let app: Hono;

  before(async () => {
    const tasks = tempDir("tmax-view-tasks-");
    writeTask(tasks, "solvable", { instruction: "Create /app/done.\n" });
    writeTask(tasks, "unsolved", { solveSh: "#!/bin/bash\necho 'the reference solution forgets the file'\n" });
    const root = tempDir("tmax-view-oracle-");
    const run = await runCli(["run", "-p", tasks, "-a", "oracle", "-k", "2", "-n", "2", "-o", join(root, "jobs"), "--job-name", "oracle-job"]);
    assert.equal(run.code, 0, run.stderr);
    app = new Hono().route("/api", apiRoutes(new Catalog([root])));
  });

  const get = async <T>(path: string): Promise<T> => {
    const res = await app.request(`http://127.0.0.1${path}`);
    assert.equal(res.status, 200, path);
    return (await res.json()) as T;
  };

  test("the jobs list and the job page show what the runner wrote", async () => {
    const { jobs } = await get<JobsResponse>("/api/jobs");
    assert.deepEqual(jobs.map((j) => [j.path, j.agent, j.trials, j.tasks, j.reward.mean]), [["0/jobs/oracle-job", "oracle", 4, 2, 0.5]]);
    const job = await get<JobResponse>("/api/job/0/jobs/oracle-job");
    assert.deepEqual(job.tasks.map((t) => [t.task, t.successes, t.attempts]), [["solvable", 2, 2], ["unsolved", 0, 2]]);
    assert.ok(job.trials.every((t) => t.seconds.environment_setup !== null && t.seconds.verifier !== null));
  });

  test("a trial: the reward, the verifier's files and the real phase timings", async () => {
    const job = await get<JobResponse>("/api/job/0/jobs/oracle-job");
    const solved = job.trials.find((t) => t.task === "solvable")!;
    const trial = await get<TrialResponse>(`/api/trial/0/jobs/oracle-job/${solved.name}`);
    assert.deepEqual(trial.rewards, { reward: 1 });
    assert.equal(trial.rewardFile, "reward.txt");
    assert.ok(trial.files.some((f) => f.path === "verifier/reward.txt"));
    assert.ok((trial.timings?.trial?.seconds ?? 0) > 0);
    assert.equal(trial.exception, null);
  });
});

import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { finished, runCli, startCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/task-fixture.js";
import { waitFor } from "../helpers/wait.js";

// `tmax view`'s command line: usage errors exit 2; the URL goes to stdout; SIGTERM stops it with 130.

test("tmax view: a directory that does not exist and an impossible port are usage errors", async () => {
  const missing = await runCli(["view", "/nonexistent/tmax-view-dir"]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /not a directory/);
  const port = await runCli(["view", tempDir(), "--port", "70000"]);
  assert.equal(port.code, 2);
  assert.match(port.stderr, /--port/);
});

test("tmax view: prints its loopback URL, serves the API, exits 130 on SIGTERM", async () => {
  const dir = tempDir("tmax-view-cli-");
  const child = startCli(["view", dir, "--port", "0"]);
  await waitFor("the viewer's URL", () => /http:\/\/127\.0\.0\.1:\d+\//.test(child.out.stdout), 20_000);
  const url = /http:\/\/127\.0\.0\.1:\d+\//.exec(child.out.stdout)![0];
  const res = await fetch(`${url}api/jobs`);
  assert.equal(res.status, 200);
  assert.deepEqual(((await res.json()) as { jobs: unknown[] }).jobs, []);
  const page = await fetch(url);
  assert.match(await page.text(), /<script type="module" src="\/app\.js">/);
  child.kill("SIGTERM");
  assert.equal((await finished(child)).code, 130);
});

test("tmax view on one job directory: the URL it prints (and opens) is the job's page", async () => {
  const job = tempDir("tmax-view-one-job-");
  mkdirSync(join(job, "alpha__1", "agent"), { recursive: true });
  writeFileSync(join(job, "alpha__1", "result.json"), JSON.stringify({ task_name: "alpha", trial_name: "alpha__1", started_at: null, finished_at: null }));
  const child = startCli(["view", job, "--port", "0"]);
  await waitFor("the viewer's URL", () => /http:\/\/\S+/.test(child.out.stdout), 20_000);
  assert.match(/http:\/\/\S+/.exec(child.out.stdout)![0], /^http:\/\/127\.0\.0\.1:\d+\/#\/job\/0$/);
  child.kill("SIGTERM");
  assert.equal((await finished(child)).code, 130);
});

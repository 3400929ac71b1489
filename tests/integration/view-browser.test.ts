import assert from "node:assert/strict";
import { appendFileSync, cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { CHROMIUM_PATH, chromiumInstalled, launchChromium } from "../helpers/chromium.js";
import { startCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/task-fixture.js";
import { SECRET, writeViewFixture, type ViewFixture } from "../helpers/view-fixture.js";
import { waitFor } from "../helpers/wait.js";

/**
 * `tmax view` end to end: the compiled CLI serves a root holding a tmax job, a multi-step one, a Harbor job, a
 * training run and a generated corpus, and Debian's chromium (headless, driven by playwright-core) walks jobs → job →
 * trial → trajectory, a multi-step trial's steps, jobs → compare, a training run with its rollouts' tokens, and a corpus, asserting what is visible. Screenshots go to
 * $TMAX_VIEW_SCREENSHOTS (default: a temp dir, named in the output). Skipped, saying why, only when
 * /usr/bin/chromium is missing (scripts/setup.sh installs it).
 */

const skip = chromiumInstalled() ? false : `no chromium at ${CHROMIUM_PATH} (apt-get install chromium, or set CHROMIUM_PATH)`;

describe("tmax view in a browser", { skip }, () => {
  let f: ViewFixture;
  let server: ReturnType<typeof startCli>;
  let url: string;
  let browser: Browser;
  let page: Page;
  const shots = process.env.TMAX_VIEW_SCREENSHOTS ?? tempDir("tmax-view-shots-");

  before(async () => {
    mkdirSync(shots, { recursive: true });
    f = await writeViewFixture();
    server = startCli(["view", f.root, "--port", "0"]);
    await waitFor("tmax view's URL on stdout", () => /http:\/\/\S+/.test(server.out.stdout), 20_000);
    url = /http:\/\/\S+/.exec(server.out.stdout)![0];
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  });

  after(async () => {
    await browser?.close();
    server?.kill("SIGTERM");
    console.log(`# tmax view screenshots: ${shots}`);
  });

  const shot = (name: string): Promise<Buffer> => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });

  test("jobs → job → trial → trajectory, by clicking and by keyboard", async () => {
    await page.goto(url);
    const jobs = page.locator("table.data").first();
    await jobs.getByRole("link", { name: "tmax-job" }).waitFor();
    assert.equal(await jobs.getByRole("link", { name: "harbor-job" }).count(), 1);
    assert.match(await jobs.innerText(), /terminus-2/);
    assert.match(await jobs.innerText(), /50\.0 ± 0\.0/);
    // Errors by type, in the row: the Harbor job's one timed-out trial.
    assert.equal(await jobs.locator("tr", { hasText: "harbor-job" }).locator(".error-types").innerText(), "AgentTimeoutError ×1");
    await page.getByRole("link", { name: "rl-run" }).waitFor();
    await shot("1-jobs");

    await jobs.getByRole("link", { name: "tmax-job" }).click();
    await page.getByRole("heading", { name: "Tasks (2)" }).waitFor();
    assert.match(page.url(), /#\/job\/0\/tmax\/tmax-job$/);
    const body = await page.locator("#app").innerText();
    assert.match(body, /alpha/);
    assert.match(body, /2\/2/);
    // The reward histogram, then one duration histogram per phase, each captioned with its median.
    const captions = await page.locator(".chart-box figcaption").allInnerTexts();
    assert.equal(captions[0], "Rewards");
    assert.deepEqual(captions.slice(1).map((c) => c.split(" · ")[0]), ["Environment setup", "Agent", "Verifier", "Whole trial"]);
    assert.ok(captions.slice(1).every((c) => /4 trials · median /.test(c)), captions.join(" | "));
    assert.equal(await page.locator(".chart-box svg.chart").count(), 5);
    await shot("2-job");

    // The trials table: the first alpha trial, opened from its row with the keyboard (j, Enter).
    await page.locator("body").press("j");
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Timings" }).waitFor();
    assert.match(page.url(), /#\/trial\/0\/tmax\/tmax-job\/alpha__/);
    const trial = await page.locator("#app").innerText();
    assert.match(trial, /reward = 1\.000/);
    assert.match(trial, /Create the file \/app\/done and nothing else\./);
    assert.match(trial, /1 passed/);
    assert.match(trial, /trajectory\.json/);
    await shot("3-trial");

    // ] goes to the next trial of the job (name order), the one the "next trial" link names.
    const first = page.url();
    const next = await page.getByRole("link", { name: "next trial ]" }).getAttribute("href");
    assert.match(next ?? "", /^#\/trial\/0\/tmax\/tmax-job\/(alpha|beta)__/);
    await page.keyboard.press("]");
    await page.waitForURL((u) => u.toString() !== first);
    assert.ok(page.url().endsWith(next!), `${page.url()} is not ${next}`);
    await page.goBack();
    await page.getByRole("heading", { name: "Timings" }).waitFor();

    await page.getByRole("link", { name: "Trajectory →" }).click();
    await page.locator("article.step").first().waitFor();
    assert.equal(await page.locator("article.step").count(), 4);
    assert.match(await page.locator("#app").innerText(), /touch \/app\/done/);
    const reasoning = page.locator("article.step-agent details.reasoning").first();
    assert.equal(await page.locator("details.system-prompt").getAttribute("open"), null, "the system prompt is collapsed");
    assert.equal(await reasoning.getAttribute("open"), null, "reasoning is collapsed at first");
    assert.equal(await page.getByText("The file has to exist, so touch it.").isVisible(), false);
    assert.match(await page.locator("#app").innerText(), /exit 2/);
    // The long observation is cut, with a button to show all of it.
    const expand = page.getByRole("button", { name: /show all/ }).first();
    await expand.waitFor();
    // j moves between steps and the URL follows; e opens the highlighted step's reasoning.
    for (let i = 0; i < 3; i++) await page.keyboard.press("j");
    assert.match(page.url(), /\?step=3$/);
    await page.keyboard.press("e");
    assert.equal(await reasoning.getAttribute("open"), "");
    await shot("4-trajectory");

    // The URL can be reloaded: the same step is highlighted again.
    await page.reload();
    await page.locator("article.step.current").waitFor();
    assert.equal(await page.locator("article.step.current").getAttribute("data-step"), "3");
  });

  test("a multi-step trial lists its steps, each step's verifier output to expand; job data stays text", async () => {
    await page.goto(`${url}#/job/0/tmax/tmax-steps-job`);
    await page.getByRole("heading", { name: "Tasks (1)" }).waitFor();
    assert.match(await page.locator("table.data").first().innerText(), /staged/, "the per-task table as for any job");
    const trialLink = page.getByRole("link", { name: /^staged__/ }).first();
    const trialName = await trialLink.innerText();
    // A step's exception message with markup in it: it must show as text, never become an element.
    const resultFile = join(f.stepsJob, trialName, "result.json");
    const original = readFileSync(resultFile, "utf8");
    const result = JSON.parse(original) as { step_results: { exception_info: { exception_message: string } | null }[] };
    result.step_results[2]!.exception_info!.exception_message = '<img src=x id="injected"> no reward file';
    writeFileSync(resultFile, JSON.stringify(result));
    try {
      await trialLink.click();
      await page.getByRole("heading", { name: "Steps (3)" }).waitFor();
      assert.match(await page.locator("#app").innerText(), /reward = 0\.500 \(result\.json, from its steps\)/);
      const rows = page.locator("table.trial-steps tbody tr");
      assert.equal(await rows.count(), 3);
      const row = async (step: string): Promise<string> => page.locator(`table.trial-steps tr[data-step="${step}"]`).innerText();
      assert.match(await row("01-prepare"), /01-prepare\s+reward = 1\.000\s+rewarded \(reward\.txt\)\s+\d+ ms/);
      assert.match(await row("02-build"), /reward = 0\.000\s+rewarded/);
      assert.match(await row("03-check"), /none\s+failed\s+.*RewardFileNotFoundError/);
      // Each step's verifier output is collapsed until opened, with a link to the raw file.
      const output = page.locator('details.step-output[data-step="02-build"]');
      assert.equal(await output.getByText("tests of 02-build ran").isVisible(), false);
      await output.locator("summary").click();
      await output.getByText("tests of 02-build ran").waitFor();
      assert.match((await output.getByRole("link").getAttribute("href")) ?? "", /steps\/02-build\/verifier\/test-stdout\.txt$/);
      const failed = page.locator('details.step-output[data-step="03-check"]');
      await failed.locator("summary").click();
      assert.match(await failed.innerText(), /RewardFileNotFoundError: <img src=x id="injected"> no reward file/);
      assert.equal(await page.locator("#injected").count(), 0, "the message is a text node, not markup");
      await shot("3b-trial-steps");
    } finally {
      writeFileSync(resultFile, original);
    }
  });

  test("compare two jobs from the jobs page", async () => {
    await page.goto(url);
    await page.getByRole("link", { name: "tmax-job" }).waitFor();
    // One job ticked with the mouse, the other with the keyboard (j j x: the second row, name order).
    await page.getByRole("checkbox", { name: "select 0/harbor/harbor-job" }).check();
    await page.locator("body").press("j");
    await page.keyboard.press("j");
    await page.keyboard.press("x");
    assert.equal(await page.getByRole("checkbox", { name: "select 0/tmax/tmax-job" }).isChecked(), true);
    await page.getByRole("button", { name: "Compare 2 jobs" }).click();
    await page.getByRole("heading", { name: "Per task" }).waitFor();
    const text = await page.locator("#app").innerText();
    assert.match(text, /1 flipped/);
    // Jobs compare in the order they were ticked: the Harbor job first, tmax's 100 points above it on alpha.
    assert.match(text, /Δ vs 1: \+100\.0 ± 0\.0 points over 1 common tasks \(95% CI \+100\.0 to \+100\.0\)/);
    // Per task, the second job's pass rate minus the first's: tmax's alpha gained 100 points; beta is tmax's only.
    const perTask = page.locator("table.data");
    assert.equal(await perTask.locator("tr", { hasText: "alpha" }).locator(".gain").innerText(), "+100.0");
    assert.equal(await perTask.locator("tr", { hasText: "beta" }).locator("td").last().innerText(), "–");
    assert.match(text, /fix-git/);
    await shot("5-compare");
  });

  test("a training run's curves, updated live, its rollouts as tokens, and a narrow window", async () => {
    await page.goto(url);
    await page.getByRole("link", { name: "rl-run" }).click();
    await page.getByRole("heading", { name: "Latest steps" }).waitFor();
    assert.equal(await page.locator("svg.chart").count(), 6);
    await page.getByText(/^3 steps/).waitFor();
    // Live: a step the run writes now shows up without a reload.
    appendFileSync(join(f.run, "metrics.jsonl"), JSON.stringify({ step: 4, reward_mean: 0.95, kept_fraction: 0.5, policy_version: 4, time: "2026-01-01T00:04:00Z" }) + "\n");
    await page.getByText(/^4 steps/).waitFor({ timeout: 15_000 });
    assert.match(await page.locator("table.data").innerText(), /0\.9500/);
    // The rollouts of step 2, and the token view of the first one.
    await page.getByRole("link", { name: "step 2" }).click();
    await page.getByRole("heading", { name: "Rollouts of step_2 (2)" }).waitFor();
    await page.keyboard.press("j");
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Response" }).waitFor();
    assert.equal(await page.locator(".tokens .tok").count(), 5);
    assert.equal(await page.locator(".tokens .tok.m0").count(), 1);
    assert.equal(await page.locator(".tokens .tok").first().getAttribute("title"), "id 9707 · mask 1 · logprob -1.500");
    assert.equal(await page.locator(".tokens").innerText(), "Hello world\nHello world");
    assert.equal(await page.locator(".tokens .tok.low").count(), 1, "the logprob -3 token is marked");
    await shot("7-rollout-tokens");
    await page.setViewportSize({ width: 420, height: 800 });
    await page.goto(url);
    await page.getByRole("link", { name: "tmax-job" }).click();
    await page.getByRole("heading", { name: "Tasks (2)" }).waitFor();
    const overflow = Number(await page.evaluate("document.documentElement.scrollWidth - window.innerWidth"));
    assert.ok(overflow <= 1, `the page scrolls sideways by ${overflow}px at 420px`);
    await shot("6-job-narrow");
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  test("a job still running: a banner offers its new results, and Show draws them", async () => {
    const trial = join(f.harborJob, "zeta__running");
    cpSync(join(f.harborJob, "fix-git__aaaaaaa"), trial, { recursive: true });
    const result = JSON.parse(readFileSync(join(trial, "result.json"), "utf8"));
    Object.assign(result, { task_name: "zeta", trial_name: "zeta__running", finished_at: null, verifier_result: null, verifier: null });
    writeFileSync(join(trial, "result.json"), JSON.stringify(result));
    try {
      await page.goto(`${url}#/job/0/harbor/harbor-job`);
      await page.getByText("3 over 2 tasks, 1 running").waitFor();
      assert.equal(await page.getByText("50.0 % over the 2 trials with a valid reward (the rest left out)").count(), 1, "Harbor ≥ 0.26's mean beside tmax's");
      assert.equal(await page.locator(".live-banner").isVisible(), false);
      result.finished_at = "2025-11-20T10:40:00.000001Z";
      result.verifier_result = { rewards: { reward: 1 } };
      writeFileSync(join(trial, "result.json"), JSON.stringify(result));
      await page.getByText(/The job moved on: 4 finished, 0 running/).waitFor({ timeout: 20_000 });
      await page.getByRole("button", { name: "Show" }).click();
      await page.getByText("4 over 3 tasks").waitFor();
      assert.match(await page.locator("#app").innerText(), /zeta/);
    } finally {
      rmSync(trial, { recursive: true, force: true });
    }
  });

  test("a generated corpus: its figures, the analysis report and its tasks", async () => {
    await page.goto(url);
    await page.getByRole("link", { name: "gen-1" }).click();
    await page.getByRole("heading", { name: "Tasks (2)" }).waitFor();
    assert.match(await page.locator("#app").innerText(), /3: 2 accepted, 1 rejected/);
    assert.match(await page.locator("#app").innerText(), /build_failed ×1/);
    const report = page.frameLocator("iframe.report");
    await report.locator("svg").first().waitFor();
    await shot("8-corpus");
  });

  test("the server refuses raw paths out of the root and Host headers that are not loopback", async () => {
    const port = new URL(url).port;
    const raw = (path: string, host = `127.0.0.1:${port}`): Promise<{ status: number; body: string }> =>
      new Promise((resolve, reject) => {
        const req = request({ host: "127.0.0.1", port, path, headers: { host } }, (res) => {
          let body = "";
          res.on("data", (d: Buffer) => (body += d.toString()));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on("error", reject);
        req.end();
      });
    for (const path of ["/api/file/0/../outside/secret.txt", "/api/file/0/%2e%2e/outside/secret.txt", "/api/file/0/escape/secret.txt", "/../../outside/secret.txt", "/api/file/0/..%2f..%2foutside%2fsecret.txt"]) {
      const r = await raw(path);
      assert.ok(r.status === 403 || r.status === 404, `${path}: ${r.status}`);
      assert.ok(!r.body.includes(SECRET), path);
    }
    assert.equal((await raw("/api/jobs", "evil.example:80")).status, 403);
    assert.equal((await raw("/api/jobs")).status, 200);
  });
});

/**
 * Regenerates the README's screenshots of `tmax view` (docs/view-*.png): a small synthetic Harbor directory
 * (bench/stats's fixture), the compiled CLI serving it, and Debian's chromium (headless, playwright-core) taking the
 * jobs, job and trajectory pages in light and dark mode at 1280×800.
 *
 *   npm run build && node --import tsx scripts/view-screenshots.ts [out-dir (default docs)]
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { launchChromium } from "../tests/helpers/chromium.js";
import { writeHarborJobs } from "../bench/stats/fixture.js";

const out = process.argv[2] ?? fileURLToPath(new URL("../docs", import.meta.url));
const cli = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "tmax-view-shots-"));
writeHarborJobs(join(work, "jobs"), { jobs: 3, tasks: 30, attempts: 5, seed: 7, trajectoryBytes: 12_000, varyDurations: true });
const child = spawn(process.execPath, [cli, "view", work, "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
const url = await new Promise<string>((resolve) =>
  child.stdout.on("data", (d: Buffer) => {
    const m = /http:\/\/\S+/.exec(d.toString());
    if (m) resolve(m[0]);
  }),
);
const browser = await launchChromium();
try {
  for (const scheme of ["light", "dark"] as const) {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, colorScheme: scheme });
    await page.goto(url);
    await page.locator("table.data a").first().waitFor();
    await page.screenshot({ path: join(out, `view-jobs-${scheme}.png`) });
    await page.locator("table.data a").first().click();
    await page.getByRole("heading", { name: /^Tasks/ }).waitFor();
    await page.screenshot({ path: join(out, `view-job-${scheme}.png`) });
    await page.locator("table.data").nth(1).locator("a").first().click();
    await page.getByRole("link", { name: "Trajectory →" }).click();
    await page.locator("article.step").first().waitFor();
    for (let i = 0; i < 3; i++) await page.keyboard.press("j");
    await page.screenshot({ path: join(out, `view-trajectory-${scheme}.png`) });
    await page.close();
  }
} finally {
  await browser.close();
  child.kill("SIGTERM");
  rmSync(work, { recursive: true, force: true });
}
console.log(`screenshots in ${out}`);

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { CLI, REPO } from "../helpers/cli.js";

/**
 * Start-up is part of every command's speed: what a command loads before it does its work. zod alone takes ~100 ms
 * to load; `tmax train`'s flags are read off its zod config schema, so they must be declared only when the command
 * line names `train`. A resolve hook records every package module the CLI loads.
 */
const dir = mkdtempSync(join(tmpdir(), "tmax-startup-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const hooks = join(dir, "hooks.mjs");
writeFileSync(
  hooks,
  `import { appendFileSync } from "node:fs";
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  if (resolved.url.includes("/node_modules/")) appendFileSync(process.env.TMAX_TRACE_FILE, resolved.url + "\\n");
  return resolved;
}
`,
);
const register = join(dir, "register.mjs");
writeFileSync(register, `import { register } from "node:module";\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);

/** The packages (node_modules/<name>) the CLI resolved while running `args`. */
function packagesLoaded(name: string, args: string[]): { code: number | null; packages: Set<string>; stdout: string } {
  const trace = join(dir, `${name}.trace`);
  writeFileSync(trace, "");
  const r = spawnSync(process.execPath, ["--import", pathToFileURL(register).href, CLI, ...args], {
    cwd: REPO,
    env: { ...process.env, NO_COLOR: "1", TMAX_TRACE_FILE: trace },
    encoding: "utf8",
  });
  const packages = new Set(
    readFileSync(trace, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((url) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1] ?? url),
  );
  return { code: r.status, packages, stdout: r.stdout };
}

describe("CLI start-up", () => {
  it("tmax stats and tmax --help do not load zod (the train flags are declared only for tmax train)", () => {
    const job = mkdtempSync(join(dir, "job-"));
    const stats = packagesLoaded("stats", ["stats", "--json", job]);
    assert.equal(stats.code, 1, "an empty dir is not a job: exit 1, after the command has loaded");
    assert.ok(stats.packages.has("commander"), `the trace sees packages: ${[...stats.packages].join(", ")}`);
    assert.ok(!stats.packages.has("zod"), `tmax stats loaded zod: ${[...stats.packages].join(", ")}`);
    const help = packagesLoaded("help", ["--help"]);
    assert.equal(help.code, 0);
    assert.ok(!help.packages.has("zod"));
  });

  it("tmax train still has every config key as a flag, in its help and when parsing", () => {
    const help = packagesLoaded("train-help", ["train", "--help"]);
    assert.equal(help.code, 0);
    for (const flag of ["--group-size", "--lr", "--delta", "--eval-agent-kwargs"]) assert.match(help.stdout, new RegExp(`${flag} <`), flag);
    assert.ok(help.packages.has("zod"));
    const bad = spawnSync(process.execPath, [CLI, "train", "--group-size", "many"], { cwd: REPO, encoding: "utf8" });
    assert.equal(bad.status, 2, bad.stderr);
    assert.match(bad.stderr, /--group-size: expected an integer, got many/);
  });
});

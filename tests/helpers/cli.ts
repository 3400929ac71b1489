import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

export const REPO = fileURLToPath(new URL("../..", import.meta.url));
export const CLI = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the compiled CLI (as users do with `npx tmax`) and collects its output. */
export function runCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  const child = startCli(args, opts);
  return finished(child);
}

/** Starts the CLI; with `group`, as the leader of a new process group (as a shell starts a foreground job). */
export function startCli(
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; group?: boolean } = {},
): ChildProcess & { out: { stdout: string; stderr: string } } {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: opts.cwd ?? REPO,
    env: { ...process.env, NO_COLOR: "1", ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: opts.group ?? false,
  }) as ChildProcess & { out: { stdout: string; stderr: string } };
  child.out = { stdout: "", stderr: "" };
  child.stdout!.on("data", (d: Buffer) => (child.out.stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (child.out.stderr += d.toString()));
  return child;
}

export function finished(child: ChildProcess & { out: { stdout: string; stderr: string } }): Promise<CliResult> {
  return new Promise((resolve) => {
    child.once("close", (code) => resolve({ code, stdout: child.out.stdout, stderr: child.out.stderr }));
  });
}

/** Containers (any state) carrying a label, via the podman CLI: an independent check of what tmax left behind. */
export function podmanContainers(filter: string): string[] {
  const r = spawnSync("podman", ["ps", "-a", "-q", "--filter", filter], { encoding: "utf8" });
  return r.stdout.split("\n").filter(Boolean);
}

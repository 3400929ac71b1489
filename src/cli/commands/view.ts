import { spawn } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import pc from "picocolors";
import { TrialIndex } from "../../store/trial-index.js";
import { startViewer } from "../../view/server.js";
import { EXIT, UsageError, type ExitCode } from "../exit-codes.js";
import { handleInterrupts } from "../interrupts.js";

export interface ViewOptions {
  host: string;
  port: number;
  open: boolean;
}

/** Opens a URL in the desktop's browser, if there is one; failing to is not an error. */
function openBrowser(url: string): void {
  const command = process.platform === "darwin" ? "open" : process.platform === "win32" ? "explorer" : "xdg-open";
  try {
    const child = spawn(command, [url], { stdio: "ignore", detached: true });
    child.on("error", () => console.error(pc.dim(`(could not start ${command}; open ${url} yourself)`)));
    child.unref();
  } catch {
    // no browser here
  }
}

/** Where to send the reader first: one job directory given by itself opens on its page, anything else on the list. */
function startPage(url: string, roots: readonly string[]): string {
  return roots.length === 1 && TrialIndex.hasTrials(roots[0]!) ? `${url}#/job/0` : url;
}

/**
 * `tmax view [DIR...]`: serves the viewer (src/view/) on the directories given (default: the current one) until
 * Ctrl-C / SIGTERM, then exits 130. The URL goes to stdout once the server listens (a single job's: its page's).
 */
export async function viewCommand(dirs: string[], o: ViewOptions): Promise<ExitCode> {
  if (o.port > 65_535) throw new UsageError(`--port must be from 0 to 65535, not ${o.port}`);
  const roots = dirs.length > 0 ? dirs : ["."];
  for (const d of roots) if (!existsSync(d) || !statSync(d).isDirectory()) throw new UsageError(`${d}: not a directory`);
  const interrupts = handleInterrupts("stopping the viewer");
  try {
    const viewer = await startViewer({ dirs: roots, host: o.host, port: o.port });
    const url = startPage(viewer.url, roots);
    console.log(url);
    console.error(pc.green(`✓ tmax view: ${roots.join(", ")} at ${url}`) + pc.dim(" (read-only; Ctrl-C stops it)"));
    if (o.open) openBrowser(url);
    await new Promise<void>((resolve) => interrupts.signal.addEventListener("abort", () => resolve(), { once: true }));
    await viewer.close();
    return EXIT.interrupted;
  } finally {
    interrupts.dispose();
  }
}

import pc from "picocolors";
import { bootstrapDebian } from "../../images/bootstrap.js";
import { openProvider, type EnvironmentKind } from "../../environment/providers.js";

/** `tmax images bootstrap`: the offline Debian base image, built once and tagged under the usual names. */
export async function imagesBootstrapCommand(opts: { suite: string; mirror: string; force: boolean; env: EnvironmentKind }): Promise<number> {
  const provider = await openProvider(opts.env);
  const tty = !!process.stderr.isTTY;
  const started = Date.now();
  let lastStage = "";
  try {
    const result = await bootstrapDebian({
      docker: provider.docker,
      suite: opts.suite,
      mirror: opts.mirror,
      force: opts.force,
      onProgress: (p) => {
        const secs = ((Date.now() - started) / 1000).toFixed(0);
        const line = `[${secs}s] ${p.stage}${p.count ? ` (${p.count})` : ""}${p.detail ? pc.dim(" " + p.detail) : ""}`;
        if (tty) process.stderr.write("\r\x1b[K" + line.slice(0, (process.stderr.columns ?? 100) - 1));
        else if (p.stage !== lastStage) process.stderr.write(line + "\n");
        lastStage = p.stage;
      },
    });
    if (tty) process.stderr.write("\r\x1b[K");
    if (result.built) console.log(`${pc.green("✓")} built ${result.tags[0]} in ${((Date.now() - started) / 1000).toFixed(0)} s; tagged ${result.tags.join(", ")}`);
    else console.log(`${pc.green("✓")} ${result.tags[0]} is already present (use --force to rebuild); tags: ${result.tags.join(", ")}`);
    return 0;
  } finally {
    await provider.close();
  }
}

import pc from "picocolors";
import { defaultMirror } from "../../images/apt-sources.js";
import { bootstrapDebian } from "../../images/bootstrap.js";
import type { EngineProvider, EnvironmentKind } from "../../environment/providers.js";
import { openEngine } from "../engine.js";
import { handleInterrupts } from "../interrupts.js";
import { EXIT, type ExitCode } from "../exit-codes.js";

/**
 * `tmax images bootstrap`: the offline Debian base image, built once and tagged under the usual names. The mirror
 * defaults to the machine's own apt configuration. Ctrl-C stops debootstrap, removes its work dir and any partial
 * import, stops the podman service and exits 130.
 */
export async function imagesBootstrapCommand(opts: { suite: string; mirror?: string; force: boolean; env: EnvironmentKind }): Promise<ExitCode> {
  let provider: EngineProvider | null = null;
  const interrupts = handleInterrupts("stopping debootstrap and removing its work dir…", async () => provider?.close());
  const tty = !!process.stderr.isTTY;
  const started = Date.now();
  let lastStage = "";
  try {
    const chosen = opts.mirror ? { mirror: opts.mirror, from: "--mirror" } : defaultMirror(opts.suite);
    process.stderr.write(`mirror ${chosen.mirror}${pc.dim(` (${chosen.from ?? "default; no Debian archive in the apt sources"})`)}\n`);
    provider = await openEngine(opts.env, interrupts.signal);
    if (interrupts.signal.aborted) return EXIT.interrupted;
    const result = await bootstrapDebian({
      images: provider.imageStore,
      suite: opts.suite,
      mirror: chosen.mirror,
      force: opts.force,
      signal: interrupts.signal,
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
    return EXIT.ok;
  } catch (err) {
    if (!interrupts.signal.aborted) throw err;
    if (tty) process.stderr.write("\r\x1b[K");
    console.error(pc.yellow("interrupted: debootstrap stopped, work dir and partial image removed"));
    return EXIT.interrupted;
  } finally {
    await provider?.close();
    interrupts.dispose();
  }
}

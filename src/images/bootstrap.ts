import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type Docker from "dockerode";

const VERSION_OF: Record<string, string> = { bullseye: "11", bookworm: "12", trixie: "13" };

/** Names a bootstrapped Debian image is tagged under, so `FROM debian:bookworm-slim` (and friends) resolve locally. */
export function debianTags(suite: string): { repo: string; tag: string }[] {
  const names = [`${suite}-slim`, suite];
  const version = VERSION_OF[suite];
  if (version) names.push(`${version}-slim`, version);
  return names.flatMap((tag) => [
    { repo: "debian", tag },
    { repo: "docker.io/library/debian", tag },
  ]);
}

export interface BootstrapProgress {
  stage: string;
  detail?: string;
  /** Packages handled so far in this stage. */
  count?: number;
}

export interface BootstrapOptions {
  docker: Docker;
  suite: string;
  mirror: string;
  force: boolean;
  onProgress?: (p: BootstrapProgress) => void;
  /** Where the root filesystem is built (default: a temp dir under /var/tmp). */
  workDir?: string;
}

async function imageExists(docker: Docker, name: string): Promise<boolean> {
  try {
    await docker.getImage(name).inspect();
    return true;
  } catch {
    return false;
  }
}

export class BootstrapError extends Error {
  override name = "BootstrapError";
}

/**
 * Builds a minimal Debian root filesystem from the apt mirror with debootstrap, imports it as an image and tags it
 * under the usual Docker Hub names. Idempotent: does nothing when the image exists (unless `force`).
 */
export async function bootstrapDebian(opts: BootstrapOptions): Promise<{ built: boolean; tags: string[] }> {
  const { docker, suite } = opts;
  const tags = debianTags(suite);
  const names = tags.map((t) => `${t.repo}:${t.tag}`);
  const primary = names[0]!;
  const progress = opts.onProgress ?? (() => undefined);

  if (!opts.force && (await imageExists(docker, primary))) {
    const image = docker.getImage(primary);
    for (const t of tags) if (!(await imageExists(docker, `${t.repo}:${t.tag}`))) await image.tag({ repo: t.repo, tag: t.tag });
    progress({ stage: "present", detail: primary });
    return { built: false, tags: names };
  }
  if (spawnSync("sh", ["-c", "command -v debootstrap"], { stdio: "ignore" }).status !== 0) {
    throw new BootstrapError("debootstrap is not installed. On Debian/Ubuntu: sudo apt-get install -y debootstrap");
  }
  const root = asRoot();
  if (root.length > 0 && spawnSync("sudo", ["-n", "true"], { stdio: "ignore" }).status !== 0) {
    throw new BootstrapError("debootstrap needs root: run this as root or allow password-less sudo");
  }

  const work = opts.workDir ?? mkdtempSync(join("/var/tmp", "tmax-rootfs-"));
  const rootfs = join(work, "rootfs");
  try {
    await runDebootstrap(suite, rootfs, opts.mirror, progress);
    // Downloaded .deb files are not needed in the image.
    spawnSync(root[0] ?? "sh", [...root.slice(1), ...(root.length ? ["sh"] : []), "-c", `rm -f '${rootfs}'/var/cache/apt/archives/*.deb`]);

    progress({ stage: "importing", detail: primary });
    const tarCmd = [...root, "tar", "-C", rootfs, "--numeric-owner", "-c", "."];
    const tar = spawn(tarCmd[0]!, tarCmd.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
    let tarErr = "";
    tar.stderr.on("data", (d: Buffer) => (tarErr += d.toString()));
    const [first] = tags;
    const stream = await docker.importImage(tar.stdout as never, {
      // `repo` may carry the tag (Docker API); podman ignores a separate `tag` parameter on import.
      repo: `${first!.repo}:${first!.tag}`,
      changes: ["ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 'CMD ["bash"]'],
    } as never);
    const imported = await new Promise<string | null>((resolve, reject) => {
      docker.modem.followProgress(stream as unknown as NodeJS.ReadableStream, (err: Error | null, out: { error?: string; id?: string; status?: string }[]) => {
        const failed = (out ?? []).find((o) => o.error);
        if (err || failed) return reject(err ?? new BootstrapError(failed!.error!));
        const id = (out ?? []).map((o) => o.id ?? o.status ?? "").find((s) => /^sha256:[0-9a-f]{64}$/.test(s));
        resolve(id ?? null);
      });
    });
    const tarCode = await new Promise<number>((r) => (tar.exitCode !== null ? r(tar.exitCode) : tar.once("exit", (c) => r(c ?? 1))));
    if (tarCode !== 0) throw new BootstrapError(`tar of the root filesystem failed: ${tarErr.trim()}`);
    const image = docker.getImage(imported ?? primary);
    if (!(await imageExists(docker, imported ?? primary))) throw new BootstrapError(`import did not produce ${primary}`);
    for (const t of tags) {
      progress({ stage: "tagging", detail: `${t.repo}:${t.tag}` });
      await image.tag({ repo: t.repo, tag: t.tag });
    }
    progress({ stage: "done", detail: primary });
    return { built: true, tags: names };
  } finally {
    if (!opts.workDir) {
      if (root.length > 0) spawnSync(root[0]!, [...root.slice(1), "rm", "-rf", work]);
      else rmSync(work, { recursive: true, force: true });
    }
  }
}

/** Command prefix for steps that need root: none when already root, else password-less sudo. */
function asRoot(): string[] {
  return process.getuid && process.getuid() !== 0 ? ["sudo", "-n"] : [];
}

async function runDebootstrap(suite: string, rootfs: string, mirror: string, progress: (p: BootstrapProgress) => void): Promise<void> {
  const cmd = [...asRoot(), "debootstrap", "--variant=minbase", suite, rootfs, mirror];
  const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
  const tail: string[] = [];
  let stage = "starting";
  let count = 0;
  const onLine = (line: string): void => {
    tail.push(line);
    if (tail.length > 30) tail.shift();
    const m = /^I: (Retrieving|Validating|Extracting|Unpacking|Configuring|Installing|Checking|Resolving|Found|Base system installed)\s*(.*)$/.exec(line);
    if (!m) return;
    const verb = m[1]!;
    const nextStage =
      verb === "Retrieving" || verb === "Validating"
        ? "downloading"
        : verb === "Extracting"
          ? "extracting"
          : verb === "Unpacking"
            ? "unpacking"
            : verb === "Configuring"
              ? "configuring"
              : verb === "Base system installed"
                ? "installed"
                : "preparing";
    if (nextStage !== stage) {
      stage = nextStage;
      count = 0;
    }
    if (verb === "Retrieving" || verb === "Extracting" || verb === "Unpacking" || verb === "Configuring") count++;
    progress({ stage, detail: m[2], count });
  };
  createInterface({ input: child.stdout }).on("line", onLine);
  createInterface({ input: child.stderr }).on("line", onLine);
  const code = await new Promise<number>((r) => child.once("exit", (c) => r(c ?? 1)));
  if (code !== 0) {
    throw new BootstrapError(`debootstrap failed (exit ${code}); is ${mirror} reachable?\n${tail.slice(-10).join("\n")}`);
  }
}

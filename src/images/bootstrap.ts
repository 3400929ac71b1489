import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { ImageStore } from "../environment/environment.js";
import { errorMessage } from "../util/errors.js";
import { setLongTimeout, type LongTimeout } from "../util/timers.js";

const VERSION_OF: Record<string, string> = { bullseye: "11", bookworm: "12", trixie: "13" };

/** Names a bootstrapped Debian image is tagged under, so `FROM debian:bookworm-slim` (and friends) resolve locally. */
export function debianTags(suite: string): string[] {
  const names = [`${suite}-slim`, suite];
  const version = VERSION_OF[suite];
  if (version) names.push(`${version}-slim`, version);
  return names.flatMap((tag) => [`debian:${tag}`, `docker.io/library/debian:${tag}`]);
}

export interface BootstrapProgress {
  stage: string;
  detail?: string;
  /** Packages handled so far in this stage. */
  count?: number;
}

export interface BootstrapOptions {
  images: ImageStore;
  suite: string;
  mirror: string;
  force: boolean;
  onProgress?: (p: BootstrapProgress) => void;
  /** Where the root filesystem is built (default: a temp dir under /var/tmp, removed afterwards). */
  workDir?: string;
  /**
   * Aborting stops the build: debootstrap and tar are stopped with their whole process groups, the temp work dir
   * is removed (after unmounting anything debootstrap left mounted in it) and so is a partial import; then
   * bootstrapDebian rejects with the signal's reason. Once tagging has begun it completes (a few quick calls).
   */
  signal?: AbortSignal;
  /** The debootstrap executable (default: `debootstrap` from PATH). */
  debootstrap?: string;
}

export class BootstrapError extends Error {
  override name = "BootstrapError";
}

/** Seconds debootstrap gets after SIGTERM to run its exit trap (it unmounts /proc, /sys, /dev in the target). */
const TERM_GRACE_MS = 10_000;
/** How long an aborted import may take to settle once its input stream has ended. */
const IMPORT_SETTLE_MS = 30_000;

const IMAGE_CHANGES = ["ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 'CMD ["bash"]'];

/**
 * Builds a minimal Debian root filesystem from the apt mirror with debootstrap, imports it as an image and tags it
 * under the usual Docker Hub names. Idempotent: does nothing when the image exists (unless `force`). The import
 * goes to a temporary name first, so an interrupted rebuild leaves the existing image and its tags untouched.
 */
export async function bootstrapDebian(opts: BootstrapOptions): Promise<{ built: boolean; tags: string[] }> {
  const { images, suite, signal } = opts;
  const names = debianTags(suite);
  const primary = names[0]!;
  const progress = opts.onProgress ?? (() => undefined);
  signal?.throwIfAborted();

  if (!opts.force && (await images.exists(primary))) {
    for (const name of names) if (!(await images.exists(name))) await images.tag(primary, name);
    progress({ stage: "present", detail: primary });
    return { built: false, tags: names };
  }
  const debootstrap = opts.debootstrap ?? "debootstrap";
  if (spawnSync("sh", ["-c", 'command -v "$0"', debootstrap], { stdio: "ignore" }).status !== 0) {
    throw new BootstrapError("debootstrap is not installed. On Debian/Ubuntu: sudo apt-get install -y debootstrap");
  }
  if (asRoot().length > 0 && spawnSync("sudo", ["-n", "true"], { stdio: "ignore" }).status !== 0) {
    throw new BootstrapError("debootstrap needs root: run this as root or allow password-less sudo");
  }

  const ownWork = !opts.workDir;
  const work = opts.workDir ?? mkdtempSync(join("/var/tmp", "tmax-rootfs-"));
  const rootfs = join(work, "rootfs");
  const partial = `tmax-bootstrap-partial:${suite}-${randomBytes(4).toString("hex")}`;
  let importStarted = false;
  const children = new Set<ChildProcess>();
  // An abrupt exit (a second Ctrl-C) must not leave debootstrap running or its mounts behind.
  const onExit = (): void => {
    for (const c of children) killGroup(c, "SIGKILL");
    if (ownWork) removeWorkDir(work);
  };
  process.once("exit", onExit);
  try {
    progress({ stage: "starting", detail: `${suite} from ${opts.mirror} in ${work}` });
    await runDebootstrap([...asRoot(), debootstrap, "--variant=minbase", suite, rootfs, opts.mirror], opts.mirror, progress, children, signal);
    signal?.throwIfAborted();
    // Downloaded .deb files are not needed in the image.
    asRootSync(["sh", "-c", 'rm -f "$0"/var/cache/apt/archives/*.deb', rootfs]);

    progress({ stage: "importing", detail: primary });
    importStarted = true;
    const imported = await importRootfs(images, rootfs, partial, children, signal);
    if (!(await images.exists(imported))) throw new BootstrapError(`import did not produce ${primary}`);
    for (const name of names) {
      progress({ stage: "tagging", detail: name });
      await images.tag(imported, name);
    }
    await images.untag(partial);
    progress({ stage: "done", detail: primary });
    return { built: true, tags: names };
  } catch (err) {
    if (importStarted) await images.untag(partial).catch(() => undefined);
    throw signal?.aborted ? signal.reason : err;
  } finally {
    process.removeListener("exit", onExit);
    if (ownWork) removeWorkDir(work);
  }
}

/** Command prefix for steps that need root: none when already root, else password-less sudo. */
function asRoot(): string[] {
  return process.getuid && process.getuid() !== 0 ? ["sudo", "-n"] : [];
}

function asRootSync(args: string[]): void {
  const cmd = [...asRoot(), ...args];
  spawnSync(cmd[0]!, cmd.slice(1), { stdio: "ignore" });
}

/** Signals a child started with `detached: true` and everything in its process group (gone already is fine). */
function killGroup(child: ChildProcess, sig: NodeJS.Signals): void {
  if (!child.pid) return;
  try {
    process.kill(-child.pid, sig);
  } catch {
    // the group is gone
  }
}

/** Mount points at or under `dir` (deepest first), from /proc/self/mountinfo. */
function mountsUnder(dir: string): string[] {
  let info: string;
  try {
    info = readFileSync("/proc/self/mountinfo", "utf8");
  } catch {
    return [];
  }
  const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
  return info
    .split("\n")
    .map((line) => unescape(line.split(" ")[4] ?? ""))
    .filter((m) => m === dir || m.startsWith(dir + "/"))
    .sort((a, b) => b.length - a.length);
}

/** Unmounts what debootstrap may have left mounted in `dir` (an interrupted chroot step), then removes it. */
function removeWorkDir(dir: string): void {
  for (const m of mountsUnder(dir)) asRootSync(["umount", "-l", m]);
  // --one-file-system: never descend into a mount that survived (e.g. a bind mount of the host's /dev).
  asRootSync(["rm", "-rf", "--one-file-system", dir]);
}

/**
 * Runs `cmd` (detached, in its own process group) until it exits; on abort sends SIGTERM to the group, SIGKILL
 * after a grace period, and waits for the exit.
 */
async function runChild(
  cmd: string[],
  children: Set<ChildProcess>,
  signal: AbortSignal | undefined,
  wire: (child: ChildProcess) => void,
): Promise<number> {
  const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ["ignore", "pipe", "pipe"], detached: true });
  children.add(child);
  const exited = new Promise<number>((resolve) => {
    child.once("error", () => resolve(127));
    child.once("exit", (code, sig) => resolve(code ?? (sig ? 128 : 1)));
  });
  wire(child);
  let killTimer: LongTimeout | undefined;
  const onAbort = (): void => {
    killGroup(child, "SIGTERM");
    killTimer = setLongTimeout(() => killGroup(child, "SIGKILL"), TERM_GRACE_MS);
  };
  if (signal?.aborted) onAbort();
  else signal?.addEventListener("abort", onAbort, { once: true });
  try {
    return await exited;
  } finally {
    killTimer?.clear();
    signal?.removeEventListener("abort", onAbort);
    // Anything of the group that outlived its leader goes too (only after an abort: a normal run ends whole).
    if (signal?.aborted) killGroup(child, "SIGKILL");
    children.delete(child);
  }
}

async function runDebootstrap(
  cmd: string[],
  mirror: string,
  progress: (p: BootstrapProgress) => void,
  children: Set<ChildProcess>,
  signal: AbortSignal | undefined,
): Promise<void> {
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
  const code = await runChild(cmd, children, signal, (child) => {
    createInterface({ input: child.stdout! }).on("line", onLine);
    createInterface({ input: child.stderr! }).on("line", onLine);
  });
  signal?.throwIfAborted();
  if (code !== 0) {
    throw new BootstrapError(`debootstrap failed (exit ${code}); is ${mirror} reachable?\n${tail.slice(-10).join("\n")}`);
  }
}

/** Resolves with `p`'s outcome, or with null when `signal` aborted and `p` has not settled `ms` later. */
async function settleWithin<T>(p: Promise<T>, signal: AbortSignal | undefined, ms: number): Promise<T | null> {
  let timer: LongTimeout | undefined;
  const start = (resolve: (v: null) => void): void => {
    timer = setLongTimeout(() => resolve(null), ms);
  };
  let onAbort: (() => void) | undefined;
  const late = new Promise<null>((resolve) => {
    onAbort = () => start(resolve);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    timer?.clear();
    if (onAbort) signal?.removeEventListener("abort", onAbort);
  }
}

/** Streams `tar -c rootfs` into the image store under `name`; resolves with the imported image's id or name. */
async function importRootfs(
  images: ImageStore,
  rootfs: string,
  name: string,
  children: Set<ChildProcess>,
  signal: AbortSignal | undefined,
): Promise<string> {
  let tarErr = "";
  let imported: Promise<string> | undefined;
  const tarCode = runChild([...asRoot(), "tar", "-C", rootfs, "--numeric-owner", "-c", "."], children, signal, (tar) => {
    tar.stderr!.on("data", (d: Buffer) => (tarErr += d.toString()));
    imported = images.importRootfs(tar.stdout!, name, IMAGE_CHANGES);
  });
  const result = imported!.then(
    (id) => ({ id, err: null as unknown }),
    (err: unknown) => ({ id: null, err }),
  );
  const code = await tarCode;
  // An abort kills tar, which ends the stream; the engine may still be finishing the import. Wait for it (bounded),
  // so that the caller's removal of the partial image comes after the engine created it.
  const settled = await settleWithin(result, signal, IMPORT_SETTLE_MS);
  signal?.throwIfAborted();
  if (code !== 0) throw new BootstrapError(`tar of the root filesystem failed: ${tarErr.trim()}`);
  if (!settled || settled.err) throw new BootstrapError(`import failed: ${settled ? errorMessage(settled.err) : "no answer"}`);
  return settled.id!;
}

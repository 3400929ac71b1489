import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { Image, type Daytona, type Snapshot } from "@daytonaio/sdk";
import { directoryChecksum } from "../../util/file-tree.js";
import { sleep } from "../../util/sleep.js";
import type { ImageSource, PrepareImageOptions } from "../environment.js";
import { ImageBuildError, ImageUnavailableError } from "../image-cache.js";
import type { DaytonaCalls } from "./daytona-calls.js";
import { httpStatusOf, shortMessage } from "./daytona-errors.js";
import { resourcesKey, type DaytonaResources } from "./daytona-resources.js";
import { SingleFlight } from "../../util/single-flight.js";

/** How often a snapshot that another run (or an earlier call) is building is looked at again, in ms. */
const BUILD_POLL_MS = 2000;

const BUILDING = new Set(["building", "pending", "pulling", "snapshotting"]);
/** A deleted snapshot's state until Daytona has taken it away. */
const REMOVING = "removing";

/** Resolves with `p`, or rejects with the signal's reason as soon as it aborts (`p` itself goes on). */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/**
 * Daytona snapshots of task environments, cached by content as the local image cache caches images: a Dockerfile
 * context becomes the snapshot `tmax-env-<content hash of the context>-<resources>` (built by Daytona from the
 * Dockerfile through its declarative image builder, `Image.fromDockerfile`, which uploads the files the Dockerfile
 * copies), a `docker_image` the snapshot `tmax-img-<hash of the name>-<resources>` (`Image.base`). A snapshot carries
 * its sandboxes' CPU, memory and disk, so the resource shape is part of its name. Snapshots that exist and are active
 * are reused across trials, jobs and processes; one still building (another run's) is waited for; a failed one is
 * built again. Within a process, concurrent requests for one snapshot share one build.
 */
export class DaytonaSnapshots {
  private readonly builds = new SingleFlight<string>();

  /** `signal` (the command's interrupt) stops waiting for every build; a build Daytona has started goes on there. */
  constructor(
    private readonly daytona: Daytona,
    private readonly calls: DaytonaCalls,
    private readonly signal?: AbortSignal,
  ) {}

  /** The snapshot name for a Dockerfile context and a resource shape. */
  async nameForContext(context: string, resources: DaytonaResources): Promise<string> {
    return `tmax-env-${(await directoryChecksum(context)).slice(0, 20)}-${resourcesKey(resources)}`;
  }

  /** The snapshot name for a registry image and a resource shape. */
  nameForImage(image: string, resources: DaytonaResources): string {
    return `tmax-img-${createHash("sha256").update(image).digest("hex").slice(0, 20)}-${resourcesKey(resources)}`;
  }

  /**
   * The name of an active snapshot for `source` with `resources`, built first if needed (see the class). Rejects with
   * ImageBuildError when Daytona fails to build a Dockerfile, ImageUnavailableError when an image cannot be had and
   * there is no Dockerfile to build instead.
   */
  ensure(source: ImageSource, resources: DaytonaResources, opts: PrepareImageOptions = {}): Promise<string> {
    // A trial that gives up (its own signal) stops waiting; the build is shared and goes on for the others.
    return untilAborted(this.shared(source, resources, opts), opts.signal);
  }

  private async shared(source: ImageSource, resources: DaytonaResources, opts: PrepareImageOptions): Promise<string> {
    const shown = opts.displayName ?? (source.kind === "image" ? source.name : source.context);
    const force = !!opts.forceBuild;
    if (source.kind === "image" && !(force && source.fallbackContext)) {
      const name = this.nameForImage(source.name, resources);
      // Only the image's snapshot is shared: tasks with one image may differ in their fallback (a Dockerfile or none),
      // so each falls back on its own. --force-build of an image with no Dockerfile makes the snapshot again from the
      // image, pulled anew.
      try {
        return await this.once(`${name}:${force ? "force" : ""}`, () => this.snapshot(name, () => Image.base(source.name), resources, force, source.name, opts.log));
      } catch (err) {
        if (!(err instanceof ImageBuildError)) throw err;
        const why = err.message.startsWith(`${source.name}: `) ? err.message.slice(source.name.length + 2) : err.message;
        if (!source.fallbackContext) throw new ImageUnavailableError(`${shown}: Daytona could not pull image "${source.name}": ${why}`, { cause: err });
        opts.log?.(`Daytona could not use image ${source.name} (${shortMessage(why)}); building ${join(source.fallbackContext, "Dockerfile")} instead`);
        return this.fromContext(source.fallbackContext, resources, false, shown, opts.log);
      }
    }
    const context = source.kind === "build" ? source.context : source.fallbackContext!;
    return this.fromContext(context, resources, force, shown, opts.log);
  }

  private async fromContext(context: string, resources: DaytonaResources, force: boolean, shown: string, log: PrepareImageOptions["log"]): Promise<string> {
    const dockerfile = join(context, "Dockerfile");
    if (!existsSync(dockerfile)) throw new ImageBuildError(`${shown}: ${dockerfile} does not exist`);
    const name = await this.nameForContext(context, resources);
    return this.once(`${name}:${force ? "force" : ""}`, () => this.snapshot(name, () => Image.fromDockerfile(dockerfile), resources, force, shown, log));
  }

  private once(key: string, make: () => Promise<string>): Promise<string> {
    return untilAborted(this.builds.run(key, make), this.signal);
  }


  /** The snapshot called `name`, or null when Daytona has none. */
  private async find(name: string): Promise<Snapshot | null> {
    try {
      return await this.calls.run(`get snapshot ${name}`, () => this.daytona.snapshot.get(name), { signal: this.signal });
    } catch (err) {
      if (httpStatusOf(err) === 404) return null;
      throw err;
    }
  }

  private async remove(snapshot: Snapshot): Promise<void> {
    await this.calls.run(`delete snapshot ${snapshot.name}`, () => this.daytona.snapshot.delete(snapshot), { signal: this.signal }).catch((err: unknown) => {
      if (httpStatusOf(err) !== 404) throw err;
    });
  }

  /**
   * Waits until Daytona has taken away the snapshot called `name`: deleting one only marks it `removing` (Daytona
   * removes it later) and no snapshot of that name can be created meanwhile (HTTP 409). Resolves with the snapshot
   * that then has the name (one another run created since), or null.
   */
  private async gone(name: string, log: PrepareImageOptions["log"]): Promise<Snapshot | null> {
    for (let told = false; ; told = true) {
      const s = await this.find(name);
      if (s?.state !== REMOVING) return s;
      if (!told) log?.(`waiting for Daytona to remove snapshot ${name}`);
      await sleep(BUILD_POLL_MS, this.signal);
    }
  }

  /** Waits while the snapshot builds; resolves with its final state (null: it went away). */
  private async settled(name: string): Promise<Snapshot | null> {
    for (;;) {
      const s = await this.find(name);
      if (!s || !BUILDING.has(s.state)) return s;
      await sleep(BUILD_POLL_MS, this.signal);
    }
  }

  private async snapshot(
    name: string,
    image: () => Image,
    resources: DaytonaResources,
    force: boolean,
    shown: string,
    log: PrepareImageOptions["log"],
  ): Promise<string> {
    let existing = await this.find(name);
    if (existing?.state === REMOVING) existing = await this.gone(name, log);
    if (existing && BUILDING.has(existing.state)) {
      log?.(`Daytona snapshot ${name} is being built by another run; waiting for it`);
      existing = await this.settled(name);
    }
    if (existing && !force && existing.state === "active") {
      log?.(`Daytona snapshot ${name} is cached`);
      return name;
    }
    if (existing) {
      log?.(force ? `rebuilding Daytona snapshot ${name} (--force-build)` : `Daytona snapshot ${name} is ${existing.state}; building it again`);
      await this.remove(existing);
      if (await this.gone(name, log)) {
        log?.(`Daytona snapshot ${name} was created by another run meanwhile; waiting for it`);
        return this.built(name, shown);
      }
    }
    log?.(`building Daytona snapshot ${name}`);
    try {
      await this.calls.run(
        `create snapshot ${name}`,
        async (attempt) => {
          // A retry after a failure that Daytona may have seen: a snapshot it did create is waited for, not duplicated.
          if (attempt > 1 && (await this.find(name))) return;
          await this.daytona.snapshot.create({ name, image: image(), resources }, { onLogs: (line) => log?.(line), timeout: 0 });
        },
        { signal: this.signal },
      );
    } catch (err) {
      if (httpStatusOf(err) !== 409 && !/already exists/i.test(shortMessage(err))) {
        if (this.signal?.aborted || (err as Error).name === "DaytonaAuthError" || (err as Error).name === "DaytonaUnavailableError") throw err;
        throw new ImageBuildError(`${shown}: image build failed on Daytona: ${shortMessage(err)}`, { cause: err });
      }
      log?.(`Daytona snapshot ${name} was created by another run meanwhile; waiting for it`);
    }
    return this.built(name, shown);
  }

  /** `name` once the snapshot has finished building; ImageBuildError when it did not become active. */
  private async built(name: string, shown: string): Promise<string> {
    const done = await this.settled(name);
    if (done?.state !== "active") {
      const why = done ? `${done.state}${done.errorReason ? `: ${done.errorReason}` : ""}` : "it was removed";
      throw new ImageBuildError(`${shown}: image build failed on Daytona: snapshot ${name} is ${why}`);
    }
    return name;
  }
}

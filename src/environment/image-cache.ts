import { readFileSync } from "node:fs";
import type Docker from "dockerode";
import { directoryChecksum } from "../task/checksum.js";
import type { Task } from "../task/task.js";
import { tarDirectory } from "./tar.js";

export class ImageUnavailableError extends Error {
  override name = "ImageUnavailableError";
}

export class ImageBuildError extends Error {
  override name = "ImageBuildError";
}

const REGISTRY_FAILURE =
  /initializing source|pinging container registry|dial tcp|no such host|lookup .* on|manifest unknown|repository .* not found|failed to resolve|pull access denied|unable to (?:pull|find image)|connection refused|i\/o timeout|Temporary failure in name resolution/i;

/** Explains a registry failure for an image that must come from a registry, with the offline remedy. */
export function missingImageHelp(image: string): string {
  const debian = /(^|\/)debian(:|$)/.test(image);
  return (
    `image "${image}" is not available locally and could not be pulled (no registry reachable from this machine). ` +
    (debian
      ? "Build the offline Debian base with `npx tmax images bootstrap`."
      : `Provide it locally, e.g. \`podman load -i image.tar\` or build it and tag it as "${image}".`)
  );
}

function baseImageOf(dockerfileText: string): string | null {
  const m = /^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)/im.exec(dockerfileText);
  return m ? m[1]! : null;
}

type Log = ((line: string) => void) | undefined;

/**
 * Finds or builds each task's image once per process: built images are tagged `tmax-env:<content hash of
 * environment/>`, so identical environments share one image and later jobs reuse it without rebuilding.
 */
export class ImageCache {
  private readonly pending = new Map<string, Promise<string>>();

  constructor(private readonly docker: Docker) {}

  async exists(name: string): Promise<boolean> {
    try {
      await this.docker.getImage(name).inspect();
      return true;
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return false;
      throw err;
    }
  }

  /** Tag used for a task built from its Dockerfile. */
  async tagFor(task: Task): Promise<string> {
    return `tmax-env:${(await directoryChecksum(task.environmentDir)).slice(0, 20)}`;
  }

  ensure(task: Task, opts: { forceBuild?: boolean; signal?: AbortSignal; log?: Log } = {}): Promise<string> {
    const image = task.config.environment.dockerImage;
    if (image && !(opts.forceBuild && task.dockerfile)) {
      return this.once(`image:${image}`, () => this.findOrPull(image, task, opts.log));
    }
    return this.once(`build:${task.environmentDir}:${opts.forceBuild ? "force" : ""}`, async () => {
      const tag = await this.tagFor(task);
      return this.once(`tag:${tag}:${opts.forceBuild ? "force" : ""}`, () => this.build(task, tag, !!opts.forceBuild, opts.log));
    });
  }

  private once(key: string, make: () => Promise<string>): Promise<string> {
    let p = this.pending.get(key);
    if (!p) {
      p = make();
      this.pending.set(key, p);
      // A failed build may be retried by a later trial (e.g. after a transient mirror error).
      p.catch(() => this.pending.delete(key));
    }
    return p;
  }

  private async findOrPull(image: string, task: Task, log: Log): Promise<string> {
    if (await this.exists(image)) return image;
    log?.(`pulling ${image}`);
    try {
      await this.follow(await this.docker.pull(image), log);
      return image;
    } catch (err) {
      if (task.dockerfile) {
        log?.(`pull of ${image} failed (${(err as Error).message.split("\n")[0]}); building environment/Dockerfile instead`);
        const tag = await this.tagFor(task);
        return this.once(`tag:${tag}:`, () => this.build(task, tag, false, log));
      }
      throw new ImageUnavailableError(missingImageHelp(image));
    }
  }

  private async build(task: Task, tag: string, force: boolean, log: Log): Promise<string> {
    if (!force && (await this.exists(tag))) {
      log?.(`image ${tag} is cached`);
      return tag;
    }
    log?.(`building ${tag} from ${task.environmentDir}`);
    const context = await tarDirectory(task.environmentDir);
    let stream: NodeJS.ReadableStream;
    try {
      stream = await (this.docker.buildImage as unknown as (c: Buffer, o: object) => Promise<NodeJS.ReadableStream>).call(this.docker, context, {
        t: tag,
        rm: true,
        forcerm: true,
        labels: { "tmax.env-hash": tag.split(":")[1] ?? "" },
      });
      await this.follow(stream, log);
    } catch (err) {
      const msg = (err as Error).message;
      const base = task.dockerfile ? baseImageOf(readFileSync(task.dockerfile, "utf8")) : null;
      if (base && REGISTRY_FAILURE.test(msg) && !(await this.exists(base))) {
        throw new ImageUnavailableError(`${task.name}: base ${missingImageHelp(base)}`);
      }
      throw new ImageBuildError(`${task.name}: image build failed: ${msg.trim().split("\n").slice(-8).join("\n")}`);
    }
    if (!(await this.exists(tag))) throw new ImageBuildError(`${task.name}: image build produced no image ${tag}`);
    return tag;
  }

  /** Follows a build/pull progress stream, logging lines; rejects on an error event. */
  private follow(stream: NodeJS.ReadableStream, log: Log): Promise<void> {
    return new Promise((resolve, reject) => {
      const tail: string[] = [];
      this.docker.modem.followProgress(
        stream,
        (err: Error | null, output: { error?: string; errorDetail?: { message?: string } }[]) => {
          if (err) return reject(err);
          const failed = (output ?? []).find((o) => o.error || o.errorDetail);
          if (failed) {
            return reject(new Error([...tail.slice(-20), failed.errorDetail?.message ?? failed.error ?? "failed"].join("\n")));
          }
          resolve();
        },
        (event: { stream?: string; status?: string; error?: string }) => {
          const text = (event.stream ?? event.status ?? "").replace(/\n$/, "");
          if (!text) return;
          for (const line of text.split("\n")) {
            tail.push(line);
            if (tail.length > 50) tail.shift();
            log?.(line);
          }
        },
      );
    });
  }
}

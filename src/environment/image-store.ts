import type { Readable } from "node:stream";
import type Docker from "dockerode";
import type { ImageStore } from "./environment.js";

/** One event of a Docker-Engine-API progress stream (build, pull, import). */
interface ProgressEvent {
  stream?: string;
  status?: string;
  id?: string;
  error?: string;
  errorDetail?: { message?: string };
}

/**
 * Follows a progress stream to its end, passing each event to `onEvent`; resolves with every event, rejects when
 * the stream fails (an `error` event is the caller's to interpret).
 */
export function followProgress(docker: Docker, stream: NodeJS.ReadableStream, onEvent?: (e: ProgressEvent) => void): Promise<ProgressEvent[]> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (err: Error | null, output: ProgressEvent[]) => (err ? reject(err) : resolve(output ?? [])),
      (event: ProgressEvent) => onEvent?.(event),
    );
  });
}

/** "repo:tag" → its parts ("latest" when there is no tag; a registry port is not a tag). */
function splitReference(name: string): { repo: string; tag: string } {
  const colon = name.lastIndexOf(":");
  if (colon > name.lastIndexOf("/")) return { repo: name.slice(0, colon), tag: name.slice(colon + 1) };
  return { repo: name, tag: "latest" };
}

const statusOf = (err: unknown): number | undefined => (err as { statusCode?: number }).statusCode;

/** The ImageStore of a Docker-Engine-API server (podman's or Docker's). */
export class EngineImageStore implements ImageStore {
  constructor(private readonly docker: Docker) {}

  async exists(name: string): Promise<boolean> {
    try {
      await this.docker.getImage(name).inspect();
      return true;
    } catch (err) {
      if (statusOf(err) === 404) return false;
      throw err;
    }
  }

  async tag(image: string, target: string): Promise<void> {
    await this.docker.getImage(image).tag(splitReference(target));
  }

  async importRootfs(rootfs: Readable, name: string, changes: string[]): Promise<string> {
    // `repo` carries the tag (Docker API); podman ignores a separate `tag` parameter on import.
    const options: { repo: string; changes: string[] } = { repo: name, changes };
    const stream = await this.docker.importImage(rootfs, options);
    const events = await followProgress(this.docker, stream);
    const failed = events.find((e) => e.error || e.errorDetail);
    if (failed) throw new Error(failed.errorDetail?.message ?? failed.error ?? "import failed");
    const id = events.map((e) => e.id ?? e.status ?? "").find((s) => /^sha256:[0-9a-f]{64}$/.test(s));
    return id ?? name;
  }

  async untag(name: string): Promise<void> {
    try {
      await this.docker.getImage(name).remove();
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
  }
}

import { posix } from "node:path";
import { join } from "node:path";
import type { Environment } from "../environment/environment.js";
import { writeJsonAtomic } from "../util/atomic-write.js";
import { errorMessage } from "../util/errors.js";
import type { TrialPaths } from "./paths.js";
import type { ArtifactSpec } from "../harbor/trial-schema.js";

interface ManifestEntry {
  source: string;
  destination: string;
  type: "file" | "directory";
  status: "ok" | "missing" | "failed";
  error?: string;
}

/**
 * Copies the configured artifact paths out of the container into the trial's artifacts/ folder (best effort) and
 * writes artifacts/manifest.json. Nothing is written when no artifacts are configured.
 */
export async function collectArtifacts(
  env: Environment,
  artifacts: ArtifactSpec[],
  paths: TrialPaths,
  log: (line: string) => void,
): Promise<void> {
  if (artifacts.length === 0) return;
  const manifest: ManifestEntry[] = [];
  for (const a of artifacts) {
    const source = typeof a === "string" ? a : a.source;
    const destination = (typeof a === "string" ? null : a.destination) ?? posix.basename(source.replace(/\/+$/, ""));
    const target = join(paths.artifacts, destination);
    try {
      if (await env.isDir(source)) {
        await env.downloadDir(source, target);
        manifest.push({ source, destination, type: "directory", status: "ok" });
      } else if (await env.isFile(source)) {
        await env.downloadFile(source, target);
        manifest.push({ source, destination, type: "file", status: "ok" });
      } else {
        manifest.push({ source, destination, type: "file", status: "missing" });
      }
    } catch (err) {
      log(`artifact ${source}: ${errorMessage(err)}`);
      manifest.push({ source, destination, type: "file", status: "failed", error: errorMessage(err) });
    }
  }
  await writeJsonAtomic(join(paths.artifacts, "manifest.json"), manifest);
}

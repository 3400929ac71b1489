import type Docker from "dockerode";
import { sleep } from "../util/sleep.js";

/**
 * podman's builder (buildah) keeps a "working container" per build stage in its storage; `podman ps -a` does not
 * show them, `podman ps -a --external` does. A build that completes removes them; a build that is cancelled (its
 * client went away on Ctrl-C) leaves them behind for good. These helpers find and remove the ones a cancelled build
 * of this process left: buildah containers that did not exist when the build started. On Docker the
 * libpod endpoints do not exist and both are no-ops.
 */

/** libpod's own API lives under a version prefix (any v4+ answers the calls used here). */
const LIBPOD = "/v4.0.0/libpod";

interface LibpodContainer {
  Id: string;
  Command?: string[] | null;
}

function dial<T>(docker: Docker, opts: { path: string; method: "GET" | "DELETE"; options?: object }): Promise<T> {
  return new Promise((resolve, reject) => {
    docker.modem.dial({ ...opts, statusCodes: { 200: true, 204: true, 404: "not found" } }, (err, data) => (err ? reject(err) : resolve(data as T)));
  });
}

/** Ids of the builder's storage-only containers; empty where the engine is not podman. */
export async function builderContainers(docker: Docker): Promise<Set<string>> {
  try {
    const list = await dial<LibpodContainer[]>(docker, { path: `${LIBPOD}/containers/json?`, method: "GET", options: { all: true, external: true } });
    return new Set(list.filter((c) => c.Command?.[0] === "buildah").map((c) => c.Id));
  } catch {
    return new Set();
  }
}

/**
 * After the build was cancelled the engine unwinds it in the background, step by step, and may create a step's
 * container after an earlier one was removed: leftovers are looked for until none has appeared for QUIET_MS, for at
 * most SETTLE_MS.
 */
const SETTLE_MS = 10_000;
const QUIET_MS = 2000;
const LOOK_EVERY_MS = 250;

/**
 * Removes builder containers that appeared since `before` was taken; returns how many were removed. The engine may
 * still be unwinding the cancelled build (a RUN step still running holds its container, and a removal then fails),
 * so it looks again until nothing new has appeared for a while (QUIET_MS), for at most SETTLE_MS.
 */
export async function removeBuilderLeftovers(docker: Docker, before: Set<string>): Promise<number> {
  let removed = 0;
  const deadline = Date.now() + SETTLE_MS;
  let quietSince = Date.now();
  while (Date.now() < deadline && Date.now() - quietSince < QUIET_MS) {
    const fresh = [...(await builderContainers(docker))].filter((id) => !before.has(id));
    if (fresh.length > 0) quietSince = Date.now();
    for (const id of fresh) {
      try {
        await dial(docker, { path: `${LIBPOD}/containers/${id}?`, method: "DELETE", options: { force: true } });
        removed++;
      } catch {
        // still in use by the unwinding build, or gone already: the next look decides
      }
    }
    await sleep(LOOK_EVERY_MS);
  }
  return removed;
}

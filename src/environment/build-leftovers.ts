import type Docker from "dockerode";
import { sleep } from "../util/sleep.js";

/**
 * podman's builder (buildah) keeps a "working container" per build stage in its storage; `podman ps -a` does not
 * show them, `podman ps -a --external` does. A build that completes removes them; a build that is cancelled (its
 * client went away on Ctrl-C) leaves them behind for good. These helpers find and remove the ones a cancelled build
 * of this process left: storage-only buildah containers that did not exist when the build started. On Docker the
 * libpod endpoints do not exist and both are no-ops.
 */

/** libpod's own API lives under a version prefix (any v4+ answers the calls used here). */
const LIBPOD = "/v4.0.0/libpod";

interface LibpodContainer {
  Id: string;
  State?: string;
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
    return new Set(list.filter((c) => c.State === "storage" && c.Command?.[0] === "buildah").map((c) => c.Id));
  } catch {
    return new Set();
  }
}

/** Removes builder containers that appeared since `before` was taken; returns how many were removed. */
export async function removeBuilderLeftovers(docker: Docker, before: Set<string>): Promise<number> {
  let removed = 0;
  // The engine may still be unwinding the cancelled build: look twice.
  for (let round = 0; round < 2; round++) {
    for (const id of await builderContainers(docker)) {
      if (before.has(id)) continue;
      try {
        await dial(docker, { path: `${LIBPOD}/containers/${id}?`, method: "DELETE", options: { force: true } });
        removed++;
      } catch {
        // gone already
      }
    }
    if (round === 0) await sleep(500);
  }
  return removed;
}

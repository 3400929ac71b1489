import { realpathSync } from "node:fs";
import { realpath } from "node:fs/promises";
import { relative, resolve, sep } from "node:path";
import type { RootInfo } from "./api-types.js";

/**
 * The directories the viewer may show, and the only way from a request to a file: a view path
 * (`<root index>/<relative path>`, see api-types.ts) is decoded segment by segment, any `.`/`..` segment, empty
 * segment, backslash or NUL is refused, and the resolved target's real path (symlinks followed) must lie inside the
 * root's real path. So `..`, `%2e%2e` and a symlink pointing out of the root are all refused.
 */

/** A view path that is malformed or points outside the given directories (HTTP 403). */
export class PathRefused extends Error {
  override name = "PathRefused";
}

/** A view path inside the roots that does not exist (HTTP 404). */
export class PathMissing extends Error {
  override name = "PathMissing";
}

export interface ResolvedPath {
  /** The real absolute path. */
  abs: string;
  /** The canonical view path of it. */
  viewPath: string;
}

export class ViewRoots {
  /** Real paths of the roots, in the order given. */
  readonly dirs: readonly string[];

  constructor(dirs: readonly string[]) {
    this.dirs = dirs.map((d) => realpathSync(resolve(d)));
  }

  info(): RootInfo[] {
    return this.dirs.map((dir, index) => ({ index, dir }));
  }

  /** The view path of an absolute path inside root `index`. */
  viewPathOf(index: number, abs: string): string {
    const rel = relative(this.dirs[index]!, abs);
    return rel === "" ? String(index) : `${index}/${rel.split(sep).join("/")}`;
  }

  /**
   * Resolves a view path whose segments may still be percent-encoded (as they come in a URL). Throws PathRefused
   * for anything outside the roots, PathMissing when it does not exist.
   */
  async resolve(viewPath: string): Promise<ResolvedPath> {
    const segments = viewPath.split("/").map(decodeSegment);
    const [rootSegment, ...rest] = segments;
    if (rootSegment === undefined || !/^\d+$/.test(rootSegment)) throw new PathRefused(`${viewPath}: a view path starts with a root number`);
    const index = Number(rootSegment);
    const root = this.dirs[index];
    if (root === undefined) throw new PathRefused(`${viewPath}: there is no root ${index}`);
    for (const s of rest) {
      if (s === "" || s === "." || s === ".." || s.includes("\\") || s.includes("\0") || s.includes("/")) {
        throw new PathRefused(`${viewPath}: not a plain path inside the viewed directories`);
      }
    }
    const target = resolve(root, ...rest);
    let real: string;
    try {
      real = await realpath(target);
    } catch {
      throw new PathMissing(`${viewPath}: no such file or directory`);
    }
    if (real !== root && !real.startsWith(root + sep)) throw new PathRefused(`${viewPath}: outside the viewed directories`);
    return { abs: real, viewPath: this.viewPathOf(index, real) };
  }
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new PathRefused(`${segment}: malformed percent-encoding`);
  }
}

import { open, stat } from "node:fs/promises";
import { Hono, type Context } from "hono";
import { JobDirError } from "../job/layout.js";
import { errorMessage } from "../util/errors.js";
import { FileFormatError, isMissingFile } from "../util/json-file.js";
import type { Catalog } from "./catalog.js";
import { PathMissing, PathRefused } from "./roots.js";

/**
 * The JSON API (shapes in api-types.ts). Routes take a view path after their prefix, e.g. /api/job/0/jobs/a; it is
 * taken from the raw request path (still percent-encoded) and resolved by ViewRoots, which refuses anything outside
 * the viewed directories (403) and reports what does not exist (404). Only GET is served.
 */

/** Raw files are sent up to this size; the rest is cut (the response says so in a header). */
export const RAW_FILE_LIMIT = 4 * 1024 * 1024;

/** Errors of modules loaded on demand (store/trial.ts, store/corpus.ts), told by name so this one need not load them. */
const MISSING_NAMES = new Set(["TrialDirError"]);
const MALFORMED_NAMES = new Set(["CorpusReadError"]);

function statusOf(err: unknown): 400 | 403 | 404 | 422 | 500 {
  const name = err instanceof Error ? err.name : "";
  if (err instanceof PathRefused) return 403;
  if (err instanceof PathMissing || err instanceof JobDirError || MISSING_NAMES.has(name) || isMissingFile(err)) return 404;
  if (err instanceof FileFormatError || MALFORMED_NAMES.has(name)) return 422;
  return 500;
}

/** The view path after `prefix` in the raw (undecoded) request path. */
function viewPathAfter(c: Context, prefix: string): string {
  const raw = new URL(c.req.url).pathname;
  return raw.startsWith(prefix) ? raw.slice(prefix.length) : "";
}

async function rawFile(path: string): Promise<{ body: Buffer; truncated: boolean } | null> {
  const info = await stat(path);
  if (!info.isFile()) return null;
  const size = Math.min(info.size, RAW_FILE_LIMIT);
  const handle = await open(path, "r");
  try {
    const body = Buffer.alloc(size);
    const { bytesRead } = await handle.read(body, 0, size, 0);
    return { body: body.subarray(0, bytesRead), truncated: info.size > RAW_FILE_LIMIT };
  } finally {
    await handle.close();
  }
}

export function apiRoutes(catalog: Catalog): Hono {
  const api = new Hono();
  api.onError((err, c) => c.json({ error: errorMessage(err) }, statusOf(err)));
  const byPath = (prefix: string, answer: (viewPath: string) => Promise<unknown>) =>
    api.get(`${prefix}*`, async (c) => c.json(await answer(viewPathAfter(c, `/api${prefix}`))));

  api.get("/jobs", async (c) => c.json(await catalog.jobs()));
  api.get("/compare", async (c) => c.json(await catalog.compare(c.req.queries("job") ?? [])));
  byPath("/job/", (p) => catalog.job(p));
  byPath("/trial/", (p) => catalog.trial(p));
  byPath("/trajectory/", (p) => catalog.trajectory(p));
  byPath("/run/", (p) => catalog.run(p));
  byPath("/corpus/", (p) => catalog.corpus(p));
  byPath("/rollouts/", (p) => catalog.rollouts(p));
  api.get("/rollout/*", async (c) => c.json(await catalog.rollout(viewPathAfter(c, "/api/rollout/"), Number(c.req.query("i") ?? "0"))));
  api.get("/corpus-report/*", async (c) => {
    const html = await catalog.corpusReport(viewPathAfter(c, "/api/corpus-report/"));
    // Our own report (every value escaped, no scripts), shown in a sandboxed frame: no script may run in it.
    c.header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox");
    return c.html(html);
  });
  api.get("/file/*", async (c) => {
    const file = await rawFile(await catalog.file(viewPathAfter(c, "/api/file/")));
    if (!file) return c.json({ error: "not a file" }, 404);
    // Always plain text: a trial's files must never run as a page of the viewer's origin.
    c.header("Content-Type", "text/plain; charset=utf-8");
    c.header("X-Truncated", file.truncated ? "1" : "0");
    return c.body(new Uint8Array(file.body));
  });
  api.all("*", (c) => c.json({ error: c.req.method === "GET" ? "no such API route" : "the viewer is read-only" }, c.req.method === "GET" ? 404 : 405));
  return api;
}

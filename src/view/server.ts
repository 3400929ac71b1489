import { serve, type ServerType } from "@hono/node-server";
import { existsSync, readFileSync } from "node:fs";
import type { AddressInfo, Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { Hono } from "hono";
import { apiRoutes } from "./api.js";
import { Catalog } from "./catalog.js";

/**
 * `tmax view`'s web server: the JSON API under /api and the browser app, built into dist/web by `npm run build`
 * (web/README.md), served from memory. Binds 127.0.0.1 unless told otherwise; on a loopback address it also refuses
 * requests whose Host header is not a loopback name (a web page elsewhere cannot reach it through DNS rebinding).
 */

export interface ViewerOptions {
  dirs: readonly string[];
  host?: string;
  port?: number;
  /** The built browser app (index.html, app.js, app.css); found next to the compiled server by default. */
  assetsDir?: string;
}

export interface Viewer {
  url: string;
  close(): Promise<void>;
}

const ASSETS = { "/": ["index.html", "text/html; charset=utf-8"], "/app.js": ["app.js", "text/javascript; charset=utf-8"], "/app.css": ["app.css", "text/css; charset=utf-8"] } as const;

/** dist/web, from dist/view/server.js (the package) or src/view/server.ts (tests run the sources). */
function defaultAssetsDir(): string {
  for (const rel of ["../web/", "../../dist/web/"]) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(`${dir}index.html`)) return dir;
  }
  throw new Error("the viewer's browser app is not built (dist/web/index.html is missing): run npm run build");
}

const LOOPBACK_NAMES = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);
const isLoopback = (host: string): boolean => LOOPBACK_NAMES.has(host) || host.startsWith("127.");

export function viewerApp(catalog: Catalog, assetsDir: string, host: string): Hono {
  const app = new Hono();
  app.use("*", async (c, next) => {
    const hostname = (c.req.header("host") ?? "").replace(/:\d+$/, "");
    if (isLoopback(host) && !isLoopback(hostname)) return c.text("refused: not a loopback Host header", 403);
    await next();
    c.header("X-Content-Type-Options", "nosniff");
    c.header("Cache-Control", "no-store");
  });
  app.route("/api", apiRoutes(catalog));
  for (const [route, [file, type]] of Object.entries(ASSETS)) {
    const body = readFileSync(`${assetsDir}${file}`);
    app.get(route, (c) => {
      c.header("Content-Type", type);
      if (file === "index.html") c.header("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'");
      return c.body(new Uint8Array(body));
    });
  }
  app.all("*", (c) => c.text(c.req.method === "GET" ? "not found" : "the viewer is read-only", c.req.method === "GET" ? 404 : 405));
  return app;
}

export async function startViewer(o: ViewerOptions): Promise<Viewer> {
  const host = o.host ?? "127.0.0.1";
  const catalog = new Catalog(o.dirs);
  const app = viewerApp(catalog, o.assetsDir ?? defaultAssetsDir(), host);
  const sockets = new Set<Socket>();
  const server: ServerType = await new Promise((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: o.port ?? 8777, hostname: host }, () => resolve(s));
    s.once("error", reject);
  });
  server.on("connection", (sock: Socket) => {
    sockets.add(sock);
    sock.on("close", () => sockets.delete(sock));
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(":") ? `[${host}]` : host === "0.0.0.0" ? "127.0.0.1" : host;
  return {
    url: `http://${urlHost}:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

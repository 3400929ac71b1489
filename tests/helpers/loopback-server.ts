import { serve, type ServerType } from "@hono/node-server";
import type { Hono } from "hono";
import type { AddressInfo, Socket } from "node:net";

export interface LoopbackServer {
  /** The OpenAI-style base URL, ending in /v1. */
  url: string;
  /** Releases what `release` names (held replies), drops every connection and stops listening. */
  close(release?: Iterable<() => void>): Promise<void>;
}

/** Serves a hono app on 127.0.0.1 at a free port, for the scripted servers the tests talk to over real HTTP. */
export async function serveOnLoopback(app: Hono): Promise<LoopbackServer> {
  const sockets = new Set<Socket>();
  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s));
  });
  server.on("connection", (sock: Socket) => {
    sockets.add(sock);
    sock.on("close", () => sockets.delete(sock));
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    close: (release = []) =>
      new Promise<void>((resolve) => {
        for (const r of [...release]) r();
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

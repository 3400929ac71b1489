import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { BlockList, connect, isIP, type LookupFunction, type Socket } from "node:net";
import type { Duplex } from "node:stream";

/** Which targets the proxy may connect to, and which clients it serves. */
export interface EgressProxyRules {
  /** True when the host named by the client (a hostname or an IP literal) may be reached. */
  allowsHost: (host: string) => boolean;
  /** True when a client at this address may use the proxy (its container's network); others are turned away. */
  allowsClient: (address: string) => boolean;
  /** Gets one line per refused request (for the trial log). */
  log?: (line: string) => void;
}

export interface EgressProxy {
  readonly port: number;
  /** Stops listening and cuts every connection still open. Safe to call twice. */
  close(): Promise<void>;
}

/** Headers that describe one hop and are not forwarded (RFC 9110 §7.6.1, plus the proxy's own). */
const HOP_HEADERS = new Set(["connection", "keep-alive", "proxy-authorization", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"]);

/**
 * Addresses the proxy never connects to, whatever the allowlist says: the host's own loopback and the unspecified
 * address. Inside a container "localhost" is the container itself (NO_PROXY keeps it off the proxy); through the
 * proxy it would be the host's loopback, where tmax's own model servers listen.
 */
const NEVER = new BlockList();
NEVER.addSubnet("127.0.0.0", 8, "ipv4");
NEVER.addSubnet("0.0.0.0", 8, "ipv4");
NEVER.addAddress("::1", "ipv6");
NEVER.addAddress("::", "ipv6");

function forbidden(address: string): boolean {
  const plain = address.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, "$1");
  return NEVER.check(plain, isIP(plain) === 6 ? "ipv6" : "ipv4");
}

/** dns.lookup that fails for addresses in NEVER (the proxy resolves names itself, so this sees every address). */
const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
    if (err) return callback(err, "", 0);
    const usable = addresses.filter((a) => !forbidden(a.address));
    if (usable.length === 0) {
      const refused = Object.assign(new Error(`${hostname} resolves to the host's loopback address, which the proxy never connects to`), { code: "EACCES" });
      return callback(refused, "", 0);
    }
    if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, usable);
    callback(null, usable[0]!.address, usable[0]!.family);
  });
};

function clientAddress(socket: Socket): string {
  return (socket.remoteAddress ?? "").replace(/^::ffff:/, "");
}

/** Splits a CONNECT target `host:port` or `[v6]:port`; null when it is not one. */
function splitAuthority(authority: string): { host: string; port: number } | null {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(authority);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port > 0 && port < 65536)) return null;
  return { host: (m[1] ?? m[2])!, port };
}

function refuse(socket: Duplex, status: string, why: string): void {
  socket.end(`HTTP/1.1 ${status}\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\ntmax egress proxy: ${why}\n`);
}

/**
 * An HTTP forward proxy (absolute-URI requests) and CONNECT tunnel (HTTPS and anything else over TCP) that reaches
 * only the hosts `rules` allow. It is the one way out of a container on an allowlist network (egress-gate.ts); the
 * decision is made on the name the client asks for, and the proxy resolves that name itself, so a container cannot
 * point an allowed name at another address. Listens on all IPv4 interfaces of the host on a free port; clients
 * outside the container's network are refused by `allowsClient`, and the host firewall lets the container reach
 * this port only.
 */
export async function startEgressProxy(rules: EgressProxyRules): Promise<EgressProxy> {
  const open = new Set<Duplex>();
  const remember = (s: Duplex): void => {
    open.add(s);
    s.once("close", () => open.delete(s));
  };

  /** Why a target is refused, or null when the proxy may connect to it. */
  const refusal = (host: string): string | null => {
    if (isIP(host) && forbidden(host)) return `${host} is the host's loopback address, which the proxy never connects to`;
    return rules.allowsHost(host) ? null : `${host} is not in the task's allowed_hosts`;
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    let target: URL;
    try {
      target = new URL(req.url ?? "");
    } catch {
      res.writeHead(400, { "Content-Type": "text/plain" }).end("tmax egress proxy: only absolute http:// URLs are proxied\n");
      return;
    }
    const host = target.hostname.replace(/^\[(.*)\]$/, "$1");
    if (target.protocol !== "http:") {
      res.writeHead(400, { "Content-Type": "text/plain" }).end(`tmax egress proxy: ${target.protocol} is not proxied (use CONNECT for https)\n`);
      return;
    }
    const why = refusal(host);
    if (why) {
      rules.log?.(`egress proxy: refused ${req.method ?? "GET"} http://${target.host}/: ${why}`);
      res.writeHead(403, { "Content-Type": "text/plain" }).end(`tmax egress proxy: ${why}\n`);
      return;
    }
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP_HEADERS.has(k)) headers[k] = v;
    const upstream = httpRequest(
      { host, port: target.port || 80, method: req.method, path: `${target.pathname}${target.search}`, headers, lookup: guardedLookup },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.on("error", () => res.destroy());
        up.pipe(res);
      },
    );
    upstream.on("error", (err) => {
      if (!res.headersSent) res.writeHead(502, { "Content-Type": "text/plain" }).end(`tmax egress proxy: ${err.message}\n`);
      else res.destroy();
    });
    req.pipe(upstream);
  };

  const onConnect = (req: IncomingMessage, client: Duplex, head: Buffer): void => {
    remember(client);
    client.on("error", () => client.destroy());
    const target = splitAuthority(req.url ?? "");
    if (!target) return refuse(client, "400 Bad Request", "CONNECT needs host:port");
    const why = refusal(target.host);
    if (why) {
      rules.log?.(`egress proxy: refused CONNECT ${req.url ?? ""}: ${why}`);
      return refuse(client, "403 Forbidden", why);
    }
    const upstream = connect({ port: target.port, host: target.host, lookup: guardedLookup });
    remember(upstream);
    let established = false;
    upstream.once("connect", () => {
      established = true;
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on("error", (err) => {
      if (!established) refuse(client, "502 Bad Gateway", err.message);
      else client.destroy();
    });
    client.once("close", () => upstream.destroy());
  };

  const server: Server = createServer(onRequest);
  server.on("connect", onConnect);
  server.on("connection", (socket: Socket) => {
    if (!rules.allowsClient(clientAddress(socket))) {
      socket.destroy();
      return;
    }
    remember(socket);
  });
  server.on("clientError", (_err, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "0.0.0.0", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  let closing: Promise<void> | null = null;
  return {
    port,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of open) s.destroy();
      })),
  };
}

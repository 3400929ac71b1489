import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { networkInterfaces } from "node:os";
import { after, before, describe, test } from "node:test";
import type Docker from "dockerode";
import { openEgressGate } from "../../src/environment/egress-gate.js";
import { startEgressProxy, type EgressProxy } from "../../src/environment/egress-proxy.js";
import { HostAllowlist, parseHostPattern, type HostPattern } from "../../src/util/host-pattern.js";

/** A non-loopback address of this host (the proxy never connects to loopback). */
function hostAddress(): string {
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  throw new Error("no non-loopback IPv4 address");
}

/** Sends `text` to the proxy on a raw socket and resolves with everything it answers until it closes (or 3 s pass). */
function ask(port: number, text: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    let got = "";
    s.on("data", (d: Buffer) => (got += d.toString()));
    s.on("error", () => resolve(got));
    s.on("close", () => resolve(got));
    s.write(text);
    setTimeout(() => s.destroy(), 3000);
  });
}

describe("egress proxy", () => {
  let upstream: Server;
  let upstreamPort: number;
  let ip: string;
  let proxy: EgressProxy;
  const refused: string[] = [];
  let clientsAllowed = true;

  before(async () => {
    ip = hostAddress();
    upstream = createServer((req, res) => res.end(`upstream saw ${req.method} ${req.url}\n`));
    await new Promise<void>((r) => upstream.listen(0, "0.0.0.0", r));
    upstreamPort = (upstream.address() as AddressInfo).port;
    const allowlist = new HostAllowlist([ip, "localhost", "127.0.0.1"].map((e) => parseHostPattern(e) as HostPattern));
    proxy = await startEgressProxy({ allowsHost: (h) => allowlist.allows(h), allowsClient: () => clientsAllowed, log: (l) => refused.push(l) });
  });

  after(async () => {
    await proxy?.close();
    upstream?.close();
  });

  test("forwards an absolute-URI request to an allowed host, and tunnels CONNECT", async () => {
    const fwd = await ask(proxy.port, `GET http://${ip}:${upstreamPort}/x?y=1 HTTP/1.0\r\nHost: ${ip}\r\n\r\n`);
    assert.match(fwd, /^HTTP\/1\.1 200/);
    assert.match(fwd, /upstream saw GET \/x\?y=1/);
    const tunnel = await ask(proxy.port, `CONNECT ${ip}:${upstreamPort} HTTP/1.1\r\nHost: ${ip}\r\n\r\nGET /t HTTP/1.0\r\n\r\n`);
    assert.match(tunnel, /^HTTP\/1\.1 200 Connection Established\r\n\r\nHTTP\/1\.1 200 OK/);
    assert.match(tunnel, /upstream saw GET \/t/);
  });

  test("refuses hosts not on the list, with 403, and logs it", async () => {
    const fwd = await ask(proxy.port, `GET http://example.invalid:${upstreamPort}/ HTTP/1.0\r\n\r\n`);
    assert.match(fwd, /^HTTP\/1\.1 403[^]*example\.invalid is not in the task's allowed_hosts/);
    const tunnel = await ask(proxy.port, `CONNECT 192.0.2.99:443 HTTP/1.1\r\n\r\n`);
    assert.match(tunnel, /^HTTP\/1\.1 403/);
    assert.ok(refused.some((l) => l.includes("CONNECT 192.0.2.99:443")));
  });

  test("never connects to the host's loopback, even when the list allows it", async () => {
    for (const host of ["localhost", "127.0.0.1"]) {
      const fwd = await ask(proxy.port, `GET http://${host}:${upstreamPort}/ HTTP/1.0\r\n\r\n`);
      assert.doesNotMatch(fwd, /upstream saw/, host);
      const tunnel = await ask(proxy.port, `CONNECT ${host}:${upstreamPort} HTTP/1.1\r\n\r\nGET / HTTP/1.0\r\n\r\n`);
      assert.doesNotMatch(tunnel, /Connection Established|upstream saw/, host);
    }
  });

  test("turns away clients outside the container's network", async () => {
    clientsAllowed = false;
    try {
      assert.equal(await ask(proxy.port, `GET http://${ip}:${upstreamPort}/ HTTP/1.0\r\n\r\n`), "");
    } finally {
      clientsAllowed = true;
    }
  });
});

describe("egress gate", () => {
  test("refuses an engine on another host before creating anything (fail closed)", async () => {
    const docker = new Proxy({}, { get: () => assert.fail("the engine must not be asked for anything") }) as unknown as Docker;
    await assert.rejects(
      openEgressGate({ docker, hosts: [], session: "s", ownerLabel: "h/1/", trialName: "t", localEngine: false }),
      /network_mode = "allowlist" needs a container engine on this host/,
    );
  });
});

import { randomBytes } from "node:crypto";
import { BlockList, isIPv4 } from "node:net";
import type Docker from "dockerode";
import { HostAllowlist, type HostPattern } from "../util/host-pattern.js";
import { closeBridge, firewallUnavailable, removeTaggedRules, ruleTag } from "./egress-firewall.js";
import { startEgressProxy, type EgressProxy } from "./egress-proxy.js";
import { OWNER_LABEL, SESSION_LABEL, TRIAL_LABEL } from "./labels.js";

/**
 * How an allowlist is enforced for one container (design):
 * - the container is attached only to a fresh *internal* network (no route off the host);
 * - tmax runs an HTTP/CONNECT proxy in its own process (egress-proxy.ts) that connects only to allowed hosts, and
 *   sets HTTP_PROXY / HTTPS_PROXY / ALL_PROXY (both cases) and NO_PROXY=localhost in the container;
 * - host firewall rules on the network's bridge (egress-firewall.ts) let the container reach the proxy's port and
 *   nothing else on the host, and forward nothing.
 * So anything that does not go through the proxy — a raw IP, a non-HTTP protocol, DNS — fails; there is no path
 * that is open by default. A proxy in tmax's process (rather than a proxy container) needs no image of its own and
 * dies with tmax, and the firewall rules are what keep the host's other ports out of reach either way.
 * If any part cannot be set up, opening the gate fails and the container is never started (fail closed).
 */
export interface EgressGate {
  /** The network the container must be attached to (and only to). */
  readonly networkName: string;
  /** Proxy settings for the container's environment. */
  readonly proxyEnv: Record<string, string>;
  /** Detaches `containerId` (if given and still attached), then removes the network, the rules and the proxy. */
  close(containerId?: string): Promise<void>;
}

export interface EgressGateOptions {
  docker: Docker;
  /** Only these hosts are reachable; empty = none. */
  hosts: HostPattern[];
  /** The network carries SESSION_LABEL and OWNER_LABEL, as containers do (sweep.ts finds and judges it by them). */
  session: string;
  /** The owning tmax process (labels.ts ownerLabelValue). */
  ownerLabel: string;
  /** For the network's labels. */
  trialName: string;
  /** False for an engine on another host: tmax's proxy and firewall would not be on the container's host. */
  localEngine: boolean;
  log?: (line: string) => void;
}

/** Proxy variables as the usual clients read them (curl, pip, apt, git, requests, npm, Go, Node's undici). */
function proxyEnvironment(url: string): Record<string, string> {
  const local = "localhost,127.0.0.1,::1";
  return {
    HTTP_PROXY: url,
    HTTPS_PROXY: url,
    ALL_PROXY: url,
    http_proxy: url,
    https_proxy: url,
    all_proxy: url,
    NO_PROXY: local,
    no_proxy: local,
  };
}

/** The IPv4 subnet and gateway podman or Docker gave the network. */
async function ipv4Subnet(network: Docker.Network): Promise<{ subnet: string; prefix: number; gateway: string }> {
  const info = (await network.inspect()) as { IPAM?: { Config?: { Subnet?: string; Gateway?: string }[] } };
  for (const c of info.IPAM?.Config ?? []) {
    const [address, bits] = (c.Subnet ?? "").split("/");
    if (address && isIPv4(address) && c.Gateway && isIPv4(c.Gateway)) return { subnet: address, prefix: Number(bits), gateway: c.Gateway };
  }
  throw new Error("the engine gave the allowlist network no IPv4 subnet and gateway");
}

/** Opens the gate for one container; rejects, leaving nothing behind, if any part of it cannot be set up. */
export async function openEgressGate(opts: EgressGateOptions): Promise<EgressGate> {
  if (!opts.localEngine) throw new Error("network_mode = \"allowlist\" needs a container engine on this host (tmax enforces it with a local proxy and firewall)");
  const missing = await firewallUnavailable();
  if (missing) throw new Error(`network_mode = "allowlist" cannot be enforced: ${missing}`);

  const id = randomBytes(5).toString("hex");
  // Linux interface names have at most 15 characters.
  const iface = `tmx${id}`;
  const name = `tmax-egress-${id}`;
  const tag = ruleTag(opts.session, iface);
  const undo: (() => Promise<unknown>)[] = [];
  const rollback = async (): Promise<void> => {
    for (const step of undo.reverse()) await step().catch(() => undefined);
  };
  try {
    const created = await opts.docker.createNetwork({
      Name: name,
      Driver: "bridge",
      Internal: true,
      Options: { "com.docker.network.bridge.name": iface },
      Labels: { [SESSION_LABEL]: opts.session, [OWNER_LABEL]: opts.ownerLabel, [TRIAL_LABEL]: opts.trialName },
    });
    const network = opts.docker.getNetwork(created.id);
    undo.push(() => network.remove());
    const { subnet, prefix, gateway } = await ipv4Subnet(network);
    const clients = new BlockList();
    clients.addSubnet(subnet, prefix, "ipv4");
    const allowlist = new HostAllowlist(opts.hosts);
    const proxy: EgressProxy = await startEgressProxy({
      allowsHost: (h) => allowlist.allows(h),
      allowsClient: (a) => isIPv4(a) && clients.check(a, "ipv4"),
      ...(opts.log ? { log: opts.log } : {}),
    });
    undo.push(() => proxy.close());
    await closeBridge(iface, proxy.port, tag);
    undo.push(() => removeTaggedRules((t) => t === tag));

    let closing: Promise<void> | null = null;
    return {
      networkName: name,
      proxyEnv: proxyEnvironment(`http://${gateway}:${proxy.port}`),
      close: (containerId) =>
        (closing ??= (async () => {
          if (containerId) await network.disconnect({ Container: containerId, Force: true }).catch(() => undefined);
          await proxy.close();
          // The rules go only with the network: a network still in use (a kept container) stays closed off.
          try {
            await network.remove();
          } catch (err) {
            if ((err as { statusCode?: number }).statusCode !== 404) {
              opts.log?.(`could not remove network ${name} (its firewall rules stay): ${(err as Error).message}`);
              return;
            }
          }
          await removeTaggedRules((t) => t === tag);
        })()),
    };
  } catch (err) {
    await rollback();
    throw err;
  }
}

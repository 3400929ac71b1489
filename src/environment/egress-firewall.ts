import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * Host firewall rules that close every way out of an allowlist network's bridge except the egress proxy's port.
 *
 * Why they are needed: an internal podman/Docker network has no route off the host, but the host itself sits on the
 * bridge (the gateway address), so without these rules the container could reach every service listening on the
 * host's wildcard address — including tmax's own model servers — and, over IPv6 link-local addresses, the same
 * services on `::`. The rules, matched by bridge interface name so they apply from the moment the bridge appears:
 *   IPv4 INPUT   from the bridge: ACCEPT tcp to the proxy port, REJECT the rest (REJECT, so probes fail at once)
 *   IPv4 FORWARD from the bridge: DROP (no routing through the host, whatever the container's routes say)
 *   IPv6 INPUT/FORWARD from the bridge: REJECT / DROP
 * Every rule carries the comment `tmax-egress:<session>:<interface>`, so a later tmax can remove the rules of a
 * process that died without cleaning up (sweep.ts), and only those.
 */
export const RULE_TAG_PREFIX = "tmax-egress:";

export function ruleTag(session: string, iface: string): string {
  return `${RULE_TAG_PREFIX}${session}:${iface}`;
}

type Tool = "iptables" | "ip6tables";

async function xtables(tool: Tool, args: string[]): Promise<string> {
  // -w: wait for the xtables lock instead of failing when another process (netavark, another tmax) holds it.
  const { stdout } = await run(tool, ["-w", ...args], { timeout: 30_000 });
  return stdout;
}

function ipv6Enabled(): boolean {
  if (!existsSync("/proc/sys/net/ipv6")) return false;
  try {
    return readFileSync("/proc/sys/net/ipv6/conf/all/disable_ipv6", "utf8").trim() !== "1";
  } catch {
    return true;
  }
}

/** Why the rules cannot be set on this host, or null when they can (root, iptables and, with IPv6, ip6tables). */
export async function firewallUnavailable(): Promise<string | null> {
  if (process.getuid?.() !== 0) return "it needs root (tmax sets host firewall rules for the container's network)";
  const tools: Tool[] = ipv6Enabled() ? ["iptables", "ip6tables"] : ["iptables"];
  for (const tool of tools) {
    try {
      await xtables(tool, ["-S", "INPUT"]);
    } catch (err) {
      return `${tool} does not work here (${(err as Error).message.split("\n")[0]})`;
    }
  }
  return null;
}

/** The rules of one bridge, in the order they are inserted (each at the top of its chain). */
function rulesFor(iface: string, proxyPort: number, tag: string): { tool: Tool; chain: string; spec: string[] }[] {
  const c = ["-m", "comment", "--comment", tag];
  const rules: { tool: Tool; chain: string; spec: string[] }[] = [
    // The REJECT goes in first, so the moment between two inserts is never more open than the end state.
    { tool: "iptables", chain: "INPUT", spec: ["-i", iface, ...c, "-j", "REJECT"] },
    { tool: "iptables", chain: "INPUT", spec: ["-i", iface, "-p", "tcp", "--dport", String(proxyPort), ...c, "-j", "ACCEPT"] },
    { tool: "iptables", chain: "FORWARD", spec: ["-i", iface, ...c, "-j", "DROP"] },
  ];
  if (ipv6Enabled()) {
    rules.push(
      { tool: "ip6tables", chain: "INPUT", spec: ["-i", iface, ...c, "-j", "REJECT"] },
      { tool: "ip6tables", chain: "FORWARD", spec: ["-i", iface, ...c, "-j", "DROP"] },
    );
  }
  return rules;
}

/**
 * Inserts the rules for bridge `iface` letting it reach `proxyPort` only. Rejects (after removing what it added) if
 * any rule cannot be set: the caller must then not start the container.
 */
export async function closeBridge(iface: string, proxyPort: number, tag: string): Promise<void> {
  try {
    for (const r of rulesFor(iface, proxyPort, tag)) await xtables(r.tool, ["-I", r.chain, "1", ...r.spec]);
  } catch (err) {
    await removeTaggedRules((t) => t === tag).catch(() => undefined);
    throw new Error(`could not set the host firewall rules of the allowlist network: ${(err as Error).message.split("\n")[0]}`, { cause: err });
  }
}

/**
 * Removes every tmax egress rule whose tag `select` picks, in both IPv4 and IPv6 tables. Resolves with the number
 * removed; rejects if a rule it found could not be deleted.
 */
export async function removeTaggedRules(select: (tag: string) => boolean): Promise<number> {
  let removed = 0;
  const tools: Tool[] = ["iptables", "ip6tables"];
  for (const tool of tools) {
    for (const chain of ["INPUT", "FORWARD"]) {
      let listing: string;
      try {
        listing = await xtables(tool, ["-S", chain]);
      } catch {
        continue; // no such tool here: it holds no rules of ours either
      }
      for (const line of listing.split("\n")) {
        // iptables -S quotes the comment; the tags hold no spaces, so splitting on blanks and unquoting is exact.
        const args = line.trim().split(/\s+/).map((a) => a.replace(/^"(.*)"$/, "$1"));
        const at = args.indexOf("--comment");
        const tag = at >= 0 ? args[at + 1] : undefined;
        if (args[0] !== "-A" || !tag?.startsWith(RULE_TAG_PREFIX) || !select(tag)) continue;
        await xtables(tool, ["-D", ...args.slice(1)]);
        removed++;
      }
    }
  }
  return removed;
}

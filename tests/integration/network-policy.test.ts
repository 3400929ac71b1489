import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { networkInterfaces } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { finished, podmanContainers, runCli, startCli } from "../helpers/cli.js";
import { tempDir, writeTask } from "../helpers/task-fixture.js";
import { waitFor } from "../helpers/wait.js";

/**
 * Real podman: a task's solution probes an HTTP server this test runs on the host (listening on 0.0.0.0), three ways:
 * through the container's HTTP proxy (forward request and CONNECT), directly at the host's address, and at the
 * host's address on the container's network (host.containers.internal = the bridge gateway). The verifier gives
 * reward 1 when any way reached the server.
 */

const MARK = "tmax-probe-ok";
let server: Server;
let port: number;
let hostIp: string;

/** The host's first non-loopback IPv4 address: what a container on podman's default network reaches the host by. */
function hostAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  throw new Error("this host has no non-loopback IPv4 address");
}

const probeScript = (): string => `#!/bin/bash
T=${hostIp}; P=${port}
try() { timeout 5 bash -c "exec 3<>/dev/tcp/$1/$2 && printf \\"$3\\" >&3 && cat <&3" 2>&1 | tr -d '\\r' | tr '\\n' ' '; echo; }
: > /app/probe
if [ -n "$http_proxy" ]; then
  hp=\${http_proxy#http://}; hp=\${hp%/}
  echo "forward: $(try \${hp%:*} \${hp##*:} "GET http://$T:$P/ HTTP/1.0\\r\\nHost: $T:$P\\r\\n\\r\\n")" >> /app/probe
  echo "connect: $(try \${hp%:*} \${hp##*:} "CONNECT $T:$P HTTP/1.1\\r\\nHost: $T:$P\\r\\n\\r\\nGET / HTTP/1.0\\r\\n\\r\\n")" >> /app/probe
else
  echo "no proxy" >> /app/probe
fi
echo "direct: $(try $T $P "GET / HTTP/1.0\\r\\n\\r\\n")" >> /app/probe
echo "gateway: $(try host.containers.internal $P "GET / HTTP/1.0\\r\\n\\r\\n")" >> /app/probe
cat /app/probe
`;

const REWARD_IF_REACHED = `#!/bin/bash\nif grep -q ${MARK} /app/probe; then echo 1; else echo 0; fi > /logs/verifier/reward.txt\n`;

function writeProbeTask(root: string, name: string, environment: string, solveSh = probeScript()): string {
  return writeTask(root, name, {
    toml: `schema_version = "1.3"\n[agent]\ntimeout_sec = 120\n[verifier]\ntimeout_sec = 60\n[environment]\n${environment}\n`,
    solveSh,
    testSh: REWARD_IF_REACHED,
  });
}

/** tmax's egress firewall rules on this host (an independent look, via iptables). */
function egressRules(): Set<string> {
  const lines = ["iptables", "ip6tables"].flatMap((tool) => spawnSync(tool, ["-w", "-S"], { encoding: "utf8" }).stdout.split("\n"));
  return new Set(lines.filter((l) => l.includes("tmax-egress:")));
}

/** tmax's allowlist networks on this host, via the podman CLI. */
function egressNetworks(): Set<string> {
  const r = spawnSync("podman", ["network", "ls", "--format", "{{.Name}}"], { encoding: "utf8" });
  return new Set(r.stdout.split("\n").filter((n) => n.startsWith("tmax-egress-")));
}

function newOnes(before: Set<string>, now: Set<string>): string[] {
  return [...now].filter((x) => !before.has(x));
}

before(async () => {
  hostIp = hostAddress();
  server = createServer((_req, res) => res.end(`${MARK}\n`));
  await new Promise<void>((r) => server.listen(0, "0.0.0.0", r));
  port = (server.address() as AddressInfo).port;
});

after(() => server?.close());

describe("network_mode in real containers", () => {
  const results = new Map<string, { reward: number | undefined; probe: string }>();
  let leftoverRules: string[] = [];
  let leftoverNetworks: string[] = [];

  before(async () => {
    const ds = tempDir("tmax-net-ds-");
    writeProbeTask(ds, "default-mode", "");
    writeProbeTask(ds, "no-network", 'network_mode = "no-network"');
    writeProbeTask(ds, "allowlist-listed", `network_mode = "allowlist"\nallowed_hosts = ["${hostIp}"]`);
    writeProbeTask(ds, "allowlist-unlisted", 'network_mode = "allowlist"\nallowed_hosts = ["example.invalid", "192.0.2.0/31"]');
    const rulesBefore = egressRules();
    const networksBefore = egressNetworks();
    const jobs = tempDir("tmax-net-jobs-");
    const r = await runCli(["run", "-p", ds, "-a", "oracle", "-o", jobs, "--job-name", "net", "-n", "2", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    leftoverRules = newOnes(rulesBefore, egressRules());
    leftoverNetworks = newOnes(networksBefore, egressNetworks());
    const jobDir = join(jobs, "net");
    for (const trial of readdirSync(jobDir, { withFileTypes: true }).filter((d) => d.isDirectory())) {
      const result = JSON.parse(readFileSync(join(jobDir, trial.name, "result.json"), "utf8")) as {
        task_name: string;
        verifier_result: { rewards: { reward?: number } | null } | null;
      };
      const probe = readFileSync(join(jobDir, trial.name, "agent", "oracle.txt"), "utf8");
      results.set(result.task_name, { reward: result.verifier_result?.rewards?.reward, probe });
    }
  });

  const line = (task: string, way: string): string => results.get(task)?.probe.split("\n").find((l) => l.startsWith(`${way}:`)) ?? "";

  test("default mode: the host's server is reachable", () => {
    assert.equal(results.get("default-mode")?.reward, 1, results.get("default-mode")?.probe);
    assert.match(line("default-mode", "direct"), new RegExp(MARK));
  });

  test("no-network: every probe fails", () => {
    const r = results.get("no-network");
    assert.equal(r?.reward, 0, r?.probe);
    assert.match(r?.probe ?? "", /no proxy/);
  });

  test("allowlist listing the host: reachable through the proxy (forward and CONNECT), not around it", () => {
    const r = results.get("allowlist-listed");
    assert.equal(r?.reward, 1, r?.probe);
    assert.match(line("allowlist-listed", "forward"), new RegExp(MARK));
    assert.match(line("allowlist-listed", "connect"), /200 Connection Established.*tmax-probe-ok/);
    assert.doesNotMatch(line("allowlist-listed", "direct"), new RegExp(MARK), "a raw connection to the host's address bypassing the proxy");
    assert.doesNotMatch(line("allowlist-listed", "gateway"), new RegExp(MARK), "a raw connection to the bridge gateway (the host) on another port");
  });

  test("allowlist without the host: the proxy refuses it and nothing else gets out", () => {
    const r = results.get("allowlist-unlisted");
    assert.equal(r?.reward, 0, r?.probe);
    assert.match(line("allowlist-unlisted", "forward"), /403 Forbidden.*not in the task's allowed_hosts/);
    assert.match(line("allowlist-unlisted", "connect"), /403 Forbidden/);
  });

  test("the allowlist networks and firewall rules are gone after the run", () => {
    assert.deepEqual(leftoverNetworks, []);
    assert.deepEqual(leftoverRules, []);
  });
});

describe("Ctrl-C during an allowlist trial", () => {
  test("leaves no network, firewall rule or container behind", async () => {
    const ds = tempDir("tmax-net-int-");
    writeProbeTask(ds, "sleeper", 'network_mode = "allowlist"\nallowed_hosts = ["example.invalid"]', "#!/bin/bash\nsleep 300\n");
    const rulesBefore = egressRules();
    const networksBefore = egressNetworks();
    const child = startCli(["run", "-p", ds, "-a", "oracle", "-o", tempDir("tmax-net-jobs-"), "--job-name", "int"]);
    try {
      await waitFor("the allowlist network and its rules", () => newOnes(networksBefore, egressNetworks()).length > 0 && newOnes(rulesBefore, egressRules()).length > 0);
      // The solution is running once the container is; give it a moment to be inside solve.sh.
      await new Promise((r) => setTimeout(r, 1500));
    } finally {
      child.kill("SIGINT");
    }
    const r = await finished(child);
    assert.notEqual(r.code, 0);
    assert.deepEqual(newOnes(networksBefore, egressNetworks()), []);
    assert.deepEqual(newOnes(rulesBefore, egressRules()), []);
    assert.deepEqual(podmanContainers("label=tmax.task=sleeper"), []);
  });
});

describe("SIGKILL of tmax during an allowlist trial", () => {
  test("its network and firewall rules outlive it; the next run removes them and leaves the detached container for prune", async () => {
    const ds = tempDir("tmax-net-kill-");
    writeProbeTask(ds, "killed-sleeper", 'network_mode = "allowlist"\nallowed_hosts = ["example.invalid"]', "#!/bin/bash\nsleep 300\n");
    const rulesBefore = egressRules();
    const networksBefore = egressNetworks();
    const jobDir = join(tempDir("tmax-net-jobs-"), "killed");
    const child = startCli(["run", "-p", ds, "-a", "oracle", "-o", dirname(jobDir), "--job-name", "killed"], { group: true });
    const done = finished(child);
    let jobId: string | null = null;
    try {
      await waitFor("the allowlist network, its rules and the container", () => newOnes(networksBefore, egressNetworks()).length > 0 && newOnes(rulesBefore, egressRules()).length > 0 && podmanContainers("label=tmax.task=killed-sleeper").length > 0 && existsSync(join(jobDir, "result.json")));
      jobId = (JSON.parse(readFileSync(join(jobDir, "result.json"), "utf8")) as { id: string }).id;
      child.kill("SIGKILL");
      await done;
      const networks = newOnes(networksBefore, egressNetworks());
      assert.equal(networks.length, 1, "nothing of tmax cleaned up: the network is still there");
      assert.ok(newOnes(rulesBefore, egressRules()).length > 0, "and so are its firewall rules");

      const other = tempDir("tmax-net-next-");
      writeProbeTask(other, "next-task", "", "#!/bin/bash\ntrue\n");
      const next = await runCli(["run", "-p", other, "-a", "oracle", "-o", tempDir("tmax-net-jobs-"), "--json"]);
      assert.equal(next.code, 0, next.stderr);
      assert.match(next.stderr, new RegExp(`removed 1 allowlist network\\(s\\) and their firewall rules left by tmax process ${child.pid}`));
      assert.match(next.stderr, new RegExp(`1 container\\(s\\) of job ${jobId} left by tmax process ${child.pid}.*tmax sandboxes prune --job ${jobId}`));
      assert.deepEqual(newOnes(networksBefore, egressNetworks()), [], "the network is infrastructure: removed");
      assert.deepEqual(newOnes(rulesBefore, egressRules()), [], "and its rules with it");
      const left = podmanContainers(`label=tmax.job=${jobId}`);
      assert.equal(left.length, 1, "the container is evidence: left for tmax sandboxes prune");
      const attached = spawnSync("podman", ["inspect", "--format", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}", left[0]!], { encoding: "utf8" });
      assert.doesNotMatch(attached.stdout, /tmax-egress-/, "detached from the removed allowlist network");

      const pruned = await runCli(["sandboxes", "prune", "--job", jobId, "--json"]);
      assert.equal(pruned.code, 0, pruned.stderr);
      assert.equal((JSON.parse(pruned.stdout) as { containers_removed: number }).containers_removed, 1);
      assert.deepEqual(podmanContainers(`label=tmax.job=${jobId}`), []);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      if (jobId) for (const id of podmanContainers(`label=tmax.job=${jobId}`)) spawnSync("podman", ["rm", "-f", id]);
    }
  });
});

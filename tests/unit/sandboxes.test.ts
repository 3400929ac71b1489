import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { hostname } from "node:os";
import { after, before, describe, test } from "node:test";
import type Docker from "dockerode";
import { readSessionRecords, writeSessionRecord } from "../../src/environment/engine-sessions.js";
import { JOB_LABEL, OWNER_LABEL, ownerLabelValue, SESSION_LABEL } from "../../src/environment/labels.js";
import { listSandboxes } from "../../src/environment/sandboxes.js";
import { forgetEmptySessions, pruneSandboxes, removeAbandonedEgress } from "../../src/environment/sweep.js";
import { identityOf } from "../../src/util/processes.js";
import { formatAge } from "../../src/ui/sandboxes-table.js";
import { tempDir } from "../helpers/task-fixture.js";

/** This process, as a live owner; this pid with another start time, as one that is gone (its pid reused). */
const me = identityOf(process.pid);
const gone = { pid: process.pid, startTicks: (me.startTicks ?? 0) + 1 };

interface FakeContainer {
  Id: string;
  Names: string[];
  State: string;
  Created: number;
  Labels: Record<string, string>;
}

interface FakeNetwork {
  Id: string;
  Labels: Record<string, string>;
  /** Attached containers' ids. */
  attached: string[];
  /** The engine refuses to remove it. */
  stuck?: boolean;
}

interface FakeDocker {
  removed: string[];
  networksRemoved: string[];
  detached: string[];
}

/** The calls listing and pruning make of the Engine API, over in-memory container and network lists. */
function fakeDocker(containers: FakeContainer[], networks: FakeNetwork[] = []): Docker & FakeDocker {
  const removed: string[] = [];
  const networksRemoved: string[] = [];
  const detached: string[] = [];
  const docker = {
    removed,
    networksRemoved,
    detached,
    listContainers: () => Promise.resolve(containers.filter((c) => !removed.includes(c.Id))),
    getContainer: (id: string) => ({
      remove: () => {
        removed.push(id);
        return Promise.resolve();
      },
    }),
    listNetworks: () => Promise.resolve(networks.filter((n) => !networksRemoved.includes(n.Id))),
    getNetwork: (id: string) => {
      const n = networks.find((x) => x.Id === id)!;
      return {
        inspect: () => Promise.resolve({ Containers: Object.fromEntries(n.attached.map((c) => [c, {}])) }),
        disconnect: ({ Container }: { Container: string }) => {
          detached.push(`${id}/${Container}`);
          n.attached = n.attached.filter((c) => c !== Container);
          return Promise.resolve();
        },
        remove: () => {
          if (n.stuck) return Promise.reject(Object.assign(new Error("network is busy"), { statusCode: 500 }));
          if (n.attached.length > 0) return Promise.reject(Object.assign(new Error("network in use"), { statusCode: 409 }));
          networksRemoved.push(id);
          return Promise.resolve();
        },
      };
    },
  };
  return docker as unknown as Docker & FakeDocker;
}

const container = (id: string, labels: Record<string, string>, created = 1000): FakeContainer => ({
  Id: id,
  Names: [`/tmax_${id}`],
  State: "running",
  Created: created,
  Labels: labels,
});

describe("tmax's sandboxes and their owners", () => {
  const saved = process.env.TMAX_SESSIONS_DIR;
  before(() => {
    process.env.TMAX_SESSIONS_DIR = tempDir("tmax-sessions-");
    const record = { engine: "podman", endpoint: null, host: hostname(), service: null, createdAt: "2026-01-01T00:00:00Z" };
    writeSessionRecord({ ...record, session: "live", owner: me });
    writeSessionRecord({ ...record, session: "dead", owner: gone });
  });
  after(() => {
    if (saved === undefined) delete process.env.TMAX_SESSIONS_DIR;
    else process.env.TMAX_SESSIONS_DIR = saved;
  });

  const containers = (): FakeContainer[] => [
    container("c-live", { [SESSION_LABEL]: "live", [JOB_LABEL]: "job-1" }, 3000),
    container("c-dead", { [SESSION_LABEL]: "dead", [JOB_LABEL]: "job-2" }, 1000),
    container("c-labelled-dead", { [SESSION_LABEL]: "unrecorded", [JOB_LABEL]: "job-2", [OWNER_LABEL]: ownerLabelValue({ host: hostname(), process: gone }) }, 2000),
    container("c-remote", { [SESSION_LABEL]: "elsewhere", [JOB_LABEL]: "job-3", [OWNER_LABEL]: ownerLabelValue({ host: "another-host", process: me }) }),
    container("c-anonymous", { [SESSION_LABEL]: "old-tmax" }),
  ];

  test("the owner is judged from the session record, else from the owner label; another host's is unknown", async () => {
    const list = await listSandboxes(fakeDocker(containers()));
    const owners = Object.fromEntries(list.map((s) => [s.id, [s.owner, s.job, s.ownerPid]]));
    assert.deepEqual(owners, {
      "c-live": ["alive", "job-1", process.pid],
      "c-dead": ["dead", "job-2", process.pid],
      "c-labelled-dead": ["dead", "job-2", process.pid],
      "c-remote": ["unknown", "job-3", process.pid],
      "c-anonymous": ["dead", null, null],
    });
    assert.equal(list[0]!.id, "c-dead", "oldest first");
    assert.equal(list.find((s) => s.id === "c-live")!.name, "tmax_c-live");
  });

  test("prune --job removes that job's orphans only; a live or remote owner's containers are kept", async () => {
    const docker = fakeDocker(containers());
    const report = await pruneSandboxes(docker, "podman", { job: "job-2", endpoint: null });
    assert.deepEqual(docker.removed.sort(), ["c-dead", "c-labelled-dead"]);
    assert.deepEqual(report.kept, []);
    assert.ok(!readSessionRecords().some((r) => r.session === "dead"), "the dead session's record goes with its last container");
    assert.ok(readSessionRecords().some((r) => r.session === "live"));

    const live = await pruneSandboxes(docker, "podman", { job: "job-1", endpoint: null });
    assert.deepEqual(live.removed, [], "never a live run's container, even when --job names its job");
    assert.deepEqual(live.kept.map((s) => s.id), ["c-live"]);

    const all = await pruneSandboxes(docker, "podman", { endpoint: null });
    assert.deepEqual(all.removed.map((s) => s.id), ["c-anonymous"]);
    assert.deepEqual(all.kept.map((s) => s.id).sort(), ["c-live", "c-remote"]);
    assert.ok(existsSync(process.env.TMAX_SESSIONS_DIR!));
  });

  test("a dead session with no container left is forgotten; a live one, or one of another endpoint, is kept", async () => {
    const record = { engine: "podman", host: hostname(), service: null, createdAt: "2026-01-01T00:00:00Z" };
    writeSessionRecord({ ...record, session: "dead-empty", endpoint: null, owner: gone });
    writeSessionRecord({ ...record, session: "dead-elsewhere", endpoint: "unix:///other.sock", owner: gone });
    await forgetEmptySessions("podman", null, []);
    const sessions = readSessionRecords().map((r) => r.session);
    assert.ok(!sessions.includes("dead-empty"));
    assert.ok(sessions.includes("dead-elsewhere") && sessions.includes("live"));
  });
});

describe("allowlist networks of dead tmax processes", () => {
  const saved = process.env.TMAX_SESSIONS_DIR;
  before(() => {
    process.env.TMAX_SESSIONS_DIR = tempDir("tmax-sessions-");
    const record = { engine: "podman", endpoint: null, host: hostname(), service: null, createdAt: "2026-01-01T00:00:00Z" };
    writeSessionRecord({ ...record, session: "net-live", owner: me });
    writeSessionRecord({ ...record, session: "net-dead", owner: gone });
    writeSessionRecord({ ...record, session: "net-stuck", owner: gone });
  });
  after(() => {
    if (saved === undefined) delete process.env.TMAX_SESSIONS_DIR;
    else process.env.TMAX_SESSIONS_DIR = saved;
  });

  test("are removed (their containers detached, and left), a live or remote owner's are kept; a stuck one keeps its record", async () => {
    const docker = fakeDocker(
      [container("c-net-dead", { [SESSION_LABEL]: "net-dead", [JOB_LABEL]: "job-9" })],
      [
        { Id: "n-live", Labels: { [SESSION_LABEL]: "net-live" }, attached: ["c-x"] },
        { Id: "n-dead", Labels: { [SESSION_LABEL]: "net-dead" }, attached: ["c-net-dead"] },
        { Id: "n-labelled-dead", Labels: { [SESSION_LABEL]: "net-unrecorded", [OWNER_LABEL]: ownerLabelValue({ host: hostname(), process: gone }) }, attached: [] },
        { Id: "n-remote", Labels: { [SESSION_LABEL]: "net-elsewhere", [OWNER_LABEL]: ownerLabelValue({ host: "another-host", process: me }) }, attached: [] },
        { Id: "n-stuck", Labels: { [SESSION_LABEL]: "net-stuck" }, attached: [], stuck: true },
      ],
    );
    const sweep = await removeAbandonedEgress(docker, "podman", null);
    assert.deepEqual(docker.networksRemoved.sort(), ["n-dead", "n-labelled-dead"]);
    assert.deepEqual(docker.detached, ["n-dead/c-net-dead"], "the dead run's container is detached first");
    assert.deepEqual(docker.removed, [], "containers are never removed by the sweep: that is for tmax sandboxes prune");
    assert.deepEqual(sweep.networks.map((n) => [n.session, n.ownerPid]).sort(), [["net-dead", process.pid], ["net-unrecorded", process.pid]]);
    assert.deepEqual([...sweep.incomplete], ["net-stuck"]);

    await forgetEmptySessions("podman", null, [], sweep.incomplete);
    const sessions = readSessionRecords().map((r) => r.session);
    assert.ok(sessions.includes("net-stuck"), "kept while its network (and so its firewall rules) is there");
    assert.ok(!sessions.includes("net-dead") && sessions.includes("net-live"));
  });
});

test("ages read as people say them", () => {
  const now = Date.parse("2026-01-02T00:00:00Z");
  assert.equal(formatAge("2026-01-01T23:59:30Z", now), "30 s");
  assert.equal(formatAge("2026-01-01T23:30:00Z", now), "30 min");
  assert.equal(formatAge("2026-01-01T18:00:00Z", now), "6 h");
  assert.equal(formatAge("2025-12-28T00:00:00Z", now), "5 d");
});

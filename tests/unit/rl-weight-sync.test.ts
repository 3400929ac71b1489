import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { Hono } from "hono";
import { VllmDevControl } from "../../src/rl/inference-control.js";
import {
  CommandWeightSync,
  DiskWeightSync,
  VllmNcclWeightSync,
  weightSyncFor,
  type NcclGroupSpec,
  type NcclUpdateInfo,
  type NcclWeightSender,
} from "../../src/rl/train/weight-sync.js";
import { serveOnLoopback, type LoopbackServer } from "../helpers/loopback-server.js";
import { tempDir } from "../helpers/task-fixture.js";

/** One recorded call to a stand-in endpoint: which server, which path, its JSON body. */
interface Call {
  server: string;
  path: string;
  body: unknown;
}

/** A shared log of everything the stand-ins and the stand-in learner saw, in order. */
type Log = string[];

/** The point where both sides of an NCCL rendezvous meet: `arrive` resolves once `parties` have arrived, so a side
 *  called only after the other finished (no concurrency) would wait forever — the test's timeout catches that. */
function rendezvous(parties: number): { arrive: () => Promise<void> } {
  let arrived = 0;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return {
    arrive: () => {
      arrived += 1;
      if (arrived === parties) open();
      return opened;
    },
  };
}

interface StandInOptions {
  name: string;
  worldSize: number;
  calls: Call[];
  log: Log;
  /** vLLM before the start/finish phases (≈0.16–0.21): those paths are 404. */
  legacy?: boolean;
  join: () => Promise<void>;
  receive: () => Promise<void>;
  failUpdate?: boolean;
}

/** A recording stand-in of vLLM's dev-mode weight-transfer endpoints (vllm/entrypoints/serve/dev/rlhf/api_router.py)
 *  with the NCCL backend: init and update block in the rendezvous with the learner, as vLLM's do. */
async function startStandIn(o: StandInOptions): Promise<LoopbackServer> {
  const app = new Hono();
  const record = async (path: string, body: unknown): Promise<void> => {
    o.calls.push({ server: o.name, path, body });
    o.log.push(`${o.name} ${path}`);
  };
  app.get("/get_world_size", async (c) => {
    await record("/get_world_size", null);
    return c.json({ world_size: o.worldSize });
  });
  app.post("/init_weight_transfer_engine", async (c) => {
    const body = await c.req.json<{ init_info?: unknown }>();
    await record("/init_weight_transfer_engine", body);
    if (body.init_info === undefined) return c.json({ detail: "Missing 'init_info' in request body" }, 400);
    await o.join();
    return c.json({ message: "Weight transfer initialized" });
  });
  if (!o.legacy) {
    app.post("/start_weight_update", async (c) => {
      await record("/start_weight_update", await c.req.text());
      return c.json({ message: "Weight update started" });
    });
    app.post("/finish_weight_update", async (c) => {
      await record("/finish_weight_update", await c.req.json());
      return c.json({ message: "Weight update finished" });
    });
  }
  app.post("/update_weights", async (c) => {
    const body = await c.req.json<{ update_info?: unknown }>();
    await record("/update_weights", body);
    if (o.failUpdate) return c.json({ error: "Invalid update_info for NCCLWeightTransferEngine" }, 500);
    await o.receive();
    return c.json({ message: "Weights updated" });
  });
  app.notFound(async (c) => {
    await record(`404 ${c.req.path}`, null);
    return c.json({ detail: "Not Found" }, 404);
  });
  return serveOnLoopback(app);
}

const UPDATE_INFO: NcclUpdateInfo = {
  names: ["model.embed_tokens.weight", "model.layers.0.mlp.up_proj.weight", "model.norm.weight"],
  dtype_names: ["bfloat16", "bfloat16", "bfloat16"],
  shapes: [
    [151669, 64],
    [128, 64],
    [64],
  ],
};

async function ncclRig(opts: { legacy?: boolean; failUpdate?: boolean } = {}) {
  const calls: Call[] = [];
  const log: Log = [];
  const servers: LoopbackServer[] = [];
  const sizes = [2, 1];
  const joined = rendezvous(sizes.length + 1);
  let received = rendezvous(sizes.length + 1);
  const groups: NcclGroupSpec[] = [];
  let sends = 0;
  const learner: NcclWeightSender = {
    initWeightTransfer: async (group) => {
      log.push("learner init");
      groups.push(group);
      await joined.arrive();
      return UPDATE_INFO;
    },
    sendWeights: async () => {
      log.push("learner send");
      sends += 1;
      await received.arrive();
      received = rendezvous(sizes.length + 1);
      return { tensors: 3 };
    },
  };
  for (const [k, worldSize] of sizes.entries()) {
    servers.push(
      await startStandIn({
        name: `vllm${k}`,
        worldSize,
        calls,
        log,
        legacy: opts.legacy,
        failUpdate: opts.failUpdate && k === 1,
        join: () => joined.arrive(),
        receive: () => received.arrive(),
      }),
    );
  }
  const endpoints = servers.map((s) => new VllmDevControl(s.url, { timeoutMs: 5000, loadTimeoutMs: 5000 }));
  const sync = new VllmNcclWeightSync({ endpoints, learner, masterAddress: "10.1.2.3", masterPort: 29555 });
  return { sync, calls, log, groups, sends: () => sends, close: () => Promise.all(servers.map((s) => s.close())) };
}

test("vllm-nccl: init sizes the group from every endpoint and joins it concurrently with the learner; each push is start, update ∥ broadcast, finish", { timeout: 20_000 }, async () => {
  const rig = await ncclRig();
  try {
    await rig.sync.init();
    assert.deepEqual(rig.groups, [{ masterAddress: "10.1.2.3", masterPort: 29555, worldSize: 4 }], "1 learner rank + 2 + 1 workers");
    const inits = rig.calls.filter((c) => c.path === "/init_weight_transfer_engine");
    assert.deepEqual(
      inits.map((c) => [c.server, c.body]).sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
      [
        ["vllm0", { init_info: { master_address: "10.1.2.3", master_port: 29555, rank_offset: 1, world_size: 4 } }],
        ["vllm1", { init_info: { master_address: "10.1.2.3", master_port: 29555, rank_offset: 3, world_size: 4 } }],
      ],
      "vLLM's NCCLWeightTransferInitInfo fields, unpacked (no packed keys), endpoint k's workers after those before it",
    );
    rig.calls.length = 0;
    rig.log.length = 0;

    await rig.sync.push(7, null);
    await rig.sync.push(8, "/ignored");
    assert.equal(rig.sends(), 2);
    for (const server of ["vllm0", "vllm1"]) {
      const mine = rig.calls.filter((c) => c.server === server);
      assert.deepEqual(
        mine.map((c) => c.path),
        ["/start_weight_update", "/update_weights", "/finish_weight_update", "/start_weight_update", "/update_weights", "/finish_weight_update"],
      );
      assert.deepEqual(mine[1]!.body, { update_info: UPDATE_INFO }, "NCCLWeightTransferUpdateInfo: names, dtype_names, shapes in the learner's order");
      assert.deepEqual(mine[2]!.body, { weight_version: "7" });
      assert.deepEqual(mine[5]!.body, { weight_version: "8" });
    }
    const firstPush = rig.log.slice(0, rig.log.indexOf("learner send") + 1);
    assert.equal(firstPush.filter((l) => l.endsWith("/start_weight_update")).length, 2, "every endpoint started before the broadcast");
    const lastFinish = rig.log.indexOf("vllm0 /finish_weight_update");
    assert.ok(lastFinish > rig.log.indexOf("learner send"), "finish only after the broadcast");
  } finally {
    await rig.close();
  }
});

test("vllm-nccl: a vLLM without the start/finish phases (404) gets init + update only", { timeout: 20_000 }, async () => {
  const rig = await ncclRig({ legacy: true });
  try {
    await rig.sync.init();
    rig.calls.length = 0;
    await rig.sync.push(1, null);
    await rig.sync.push(2, null);
    assert.deepEqual(
      rig.calls.filter((c) => c.server === "vllm0").map((c) => c.path),
      ["404 /start_weight_update", "/update_weights", "/update_weights"],
      "asked once, then no phases",
    );
  } finally {
    await rig.close();
  }
});

test("vllm-nccl: a failed update fails the push with the endpoint's message, and later pushes refuse", { timeout: 20_000 }, async () => {
  const rig = await ncclRig({ failUpdate: true });
  try {
    await assert.rejects(rig.sync.push(1, null), /init\(\) must come before the first push/);
    await rig.sync.init();
    await assert.rejects(rig.sync.push(1, null), (err: Error) => /NCCL broadcast of version 1 failed/.test(err.message) && /HTTP 500: Invalid update_info/.test(err.message));
    await assert.rejects(rig.sync.push(2, null), /unusable after a failed push/);
  } finally {
    await rig.close();
  }
});

test("disk: every endpoint loads the checkpoint dir (init once, then start / update {path} / finish {version})", async () => {
  const calls: Call[] = [];
  const app = new Hono();
  for (const path of ["/init_weight_transfer_engine", "/start_weight_update", "/update_weights", "/finish_weight_update"]) {
    app.post(path, async (c) => {
      calls.push({ server: "disk", path, body: JSON.parse((await c.req.text()) || "null") });
      return c.json({ message: "ok" });
    });
  }
  const server = await serveOnLoopback(app);
  try {
    const sync = weightSyncFor("disk", { endpoints: [server.url] });
    assert.equal(sync.method, "disk");
    await sync.init();
    await assert.rejects(sync.push(3, null), /version 3 has no checkpoint dir/);
    await sync.push(3, "out/step_3");
    await sync.push(4, "/abs/out/step_4");
    assert.deepEqual(
      calls.map((c) => [c.path, c.body]),
      [
        ["/init_weight_transfer_engine", { init_info: {} }],
        ["/start_weight_update", {}],
        ["/update_weights", { update_info: { path: join(process.cwd(), "out/step_3") } }],
        ["/finish_weight_update", { weight_version: "3" }],
        ["/start_weight_update", {}],
        ["/update_weights", { update_info: { path: "/abs/out/step_4" } }],
        ["/finish_weight_update", { weight_version: "4" }],
      ],
    );
  } finally {
    await server.close();
  }
});

test("disk: a failing endpoint fails the push, named", async () => {
  const sync = new DiskWeightSync([
    { rootUrl: "http://a", loadWeightsFromDisk: async () => {} },
    { rootUrl: "http://b", loadWeightsFromDisk: async () => Promise.reject(new Error("HTTP 400: no such directory")) },
  ]);
  await assert.rejects(sync.push(1, "/x"), /failed on 1 of 2 endpoint\(s\):\n {2}http:\/\/b: HTTP 400: no such directory/);
});

test("command: runs the hook with the version and dir as arguments and in its environment; a failure carries its stderr", async () => {
  const dir = tempDir("tmax-weight-sync-");
  const out = join(dir, "seen.txt");
  const script = join(dir, "hook.sh");
  writeFileSync(script, `printf '%s %s %s %s %s' "$1" "$2" "$TMAX_WEIGHT_VERSION" "$TMAX_CHECKPOINT_DIR" "$TMAX_INFERENCE_URLS" > '${out}'\n`);
  const ok = weightSyncFor("command", { endpoints: ["http://h1:8000/v1", "http://h2:8000/v1"], command: `sh '${script}' "$@"` });
  await ok.init();
  await ok.push(5, "/ckpt/step_5");
  const { readFileSync } = await import("node:fs");
  assert.equal(readFileSync(out, "utf8"), "5 /ckpt/step_5 5 /ckpt/step_5 http://h1:8000/v1 http://h2:8000/v1");

  const failing = new CommandWeightSync({ command: "echo 'rsync: connection refused' >&2; exit 3" });
  await assert.rejects(failing.push(6, "/ckpt/step_6"), /version 6 exited with code 3; its stderr:\nrsync: connection refused/);
  const slow = new CommandWeightSync({ command: "sleep 30", timeoutMs: 200 });
  await assert.rejects(slow.push(7, null), /did not finish within 0.2 s/);
});

test("weightSyncFor names what a method is missing", () => {
  assert.throws(() => weightSyncFor("command", { endpoints: [] }), /needs the command/);
  assert.throws(() => weightSyncFor("vllm-nccl", { endpoints: ["http://x/v1"] }), /needs the learner/);
  const learner: NcclWeightSender = { initWeightTransfer: async () => UPDATE_INFO, sendWeights: async () => null };
  assert.throws(() => weightSyncFor("vllm-nccl", { endpoints: ["http://x/v1"], learner }), /master address and port/);
  assert.equal(weightSyncFor("vllm-nccl", { endpoints: ["http://x/v1"], learner, ncclMasterAddress: "h", ncclMasterPort: 1 }).method, "vllm-nccl");
  assert.throws(() => weightSyncFor("disk", { endpoints: [] }), /no inference endpoints/);
});

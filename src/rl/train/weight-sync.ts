import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { setLongTimeout } from "../../util/timers.js";
import { ControlHttpError, VllmDevControl, type DiskWeightLoader, type VllmDevControlOptions } from "../inference-control.js";

/**
 * Weight sync after every learner step (spec rl.md §8), pluggable. The training loop owns the choreography around a
 * push — stop admitting, pause every endpoint with `keep` (KV kept), push, set the weight version on each, resume —
 * and a `WeightSync` moves the weights:
 *
 * - `disk`: each endpoint loads the learner's saved checkpoint dir (vLLM's `disk` weight-transfer backend; tmax's
 *   reference server implements the same calls);
 * - `vllm-nccl`: vLLM's native NCCL weight transfer — the HTTP half here (init once, then per push start / update /
 *   finish on every endpoint) and the learner's rank 0 broadcasting the tensors (`NcclWeightSender`, the learner's
 *   `init_weight_transfer` / `send_weights` messages, learner/PROTOCOL.md);
 * - `command`: a user hook run with the version and the checkpoint dir.
 */

export type WeightSyncMethod = "disk" | "vllm-nccl" | "command";

/** Makes the inference endpoints serve the learner's newest weights. The loop calls, after each learner step:
 *  stop admitting → pauseAll("keep") → sync.push(version, checkpointDir) → setWeightVersion on each → resumeAll. */
export interface WeightSync {
  readonly method: WeightSyncMethod;
  /** Once before the first push (e.g. NCCL group set-up with the endpoints and the learner). */
  init(): Promise<void>;
  /** `checkpointDir`: the HF model dir the learner saved for `version` (disk and command need it; NCCL ignores it). */
  push(version: number, checkpointDir: string | null): Promise<void>;
  close(): Promise<void>;
}

function needDir(method: WeightSyncMethod, version: number, dir: string | null): string {
  if (dir === null || dir === "") {
    throw new Error(`weight sync (${method}): version ${version} has no checkpoint dir: the learner must save an HF checkpoint (save kind "hf") before each ${method} sync`);
  }
  return resolve(dir);
}

function checkVersion(version: number): void {
  if (!Number.isSafeInteger(version) || version < 0) throw new RangeError(`a weight version is an integer ≥ 0, not ${version}`);
}

/** Every endpoint's failure, named by endpoint, in one error (all calls are awaited: none is left running). */
async function onEvery<T>(what: string, items: readonly T[], name: (item: T) => string, fn: (item: T) => Promise<void>): Promise<void> {
  const results = await Promise.allSettled(items.map(fn));
  const failed = results.flatMap((r, i) => (r.status === "rejected" ? [`${name(items[i]!)}: ${(r.reason as Error).message}`] : []));
  if (failed.length > 0) throw new Error(`${what} failed on ${failed.length} of ${items.length} endpoint(s):\n  ${failed.join("\n  ")}`);
}

// ---------------------------------------------------------------------------------------------------------------
// disk

/** Each endpoint loads the checkpoint dir from disk (init / start / update {path} / finish {version}); the dir must
 *  be readable at the same path on every inference host (a shared filesystem when they are other machines). */
export class DiskWeightSync implements WeightSync {
  readonly method = "disk" as const;

  constructor(private readonly endpoints: readonly (DiskWeightLoader & { rootUrl?: string })[]) {
    if (endpoints.length === 0) throw new Error("weight sync (disk): no inference endpoints");
  }

  async init(): Promise<void> {
    // The loaders initialise the disk backend on their first load.
  }

  async push(version: number, checkpointDir: string | null): Promise<void> {
    checkVersion(version);
    const dir = needDir(this.method, version, checkpointDir);
    await onEvery(`loading ${dir} (version ${version})`, this.endpoints, (e) => e.rootUrl ?? "endpoint", (e) => e.loadWeightsFromDisk(dir, String(version)));
  }

  async close(): Promise<void> {}
}

// ---------------------------------------------------------------------------------------------------------------
// command

export interface CommandWeightSyncOptions {
  /** Run with /bin/sh -c; $1 is the version and $2 the checkpoint dir (also in the environment, below). */
  command: string;
  /** The inference base URLs, passed as TMAX_INFERENCE_URLS (space-separated). */
  endpoints?: readonly string[];
  /** Kill the command (its whole process group) after this long (default 600 s). */
  timeoutMs?: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** The most of the command's stderr kept for the error message. */
const STDERR_TAIL_BYTES = 4000;

/**
 * Runs a user hook per push: `/bin/sh -c COMMAND sh VERSION DIR` with TMAX_WEIGHT_VERSION, TMAX_CHECKPOINT_DIR (empty
 * when the learner saved none) and TMAX_INFERENCE_URLS in its environment. Exit 0 is a finished sync; any other exit,
 * a signal or the timeout fails the push with the end of the command's stderr. Its stdout is discarded.
 */
export class CommandWeightSync implements WeightSync {
  readonly method = "command" as const;
  private readonly timeoutMs: number;

  constructor(private readonly opts: CommandWeightSyncOptions) {
    if (opts.command.trim() === "") throw new Error("weight sync (command): the command is empty");
    this.timeoutMs = opts.timeoutMs ?? 600_000;
  }

  async init(): Promise<void> {}

  push(version: number, checkpointDir: string | null): Promise<void> {
    checkVersion(version);
    const dir = checkpointDir === null || checkpointDir === "" ? "" : resolve(checkpointDir);
    const env = {
      ...(this.opts.env ?? process.env),
      TMAX_WEIGHT_VERSION: String(version),
      TMAX_CHECKPOINT_DIR: dir,
      TMAX_INFERENCE_URLS: (this.opts.endpoints ?? []).join(" "),
    };
    const what = `weight sync command for version ${version}`;
    return new Promise<void>((done, fail) => {
      const child = spawn("/bin/sh", ["-c", this.opts.command, "sh", String(version), dir], {
        cwd: this.opts.cwd,
        env,
        stdio: ["ignore", "ignore", "pipe"],
        detached: true,
      });
      let stderr = "";
      let timedOut = false;
      child.stderr.setEncoding("utf8");
      child.stderr.on("data", (chunk: string) => {
        stderr = (stderr + chunk).slice(-STDERR_TAIL_BYTES);
      });
      const killGroup = (): void => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
        } catch {
          // already gone
        }
      };
      const timer = setLongTimeout(() => {
        timedOut = true;
        killGroup();
      }, this.timeoutMs);
      process.once("exit", killGroup);
      child.once("error", (err) => {
        timer.clear();
        process.removeListener("exit", killGroup);
        fail(new Error(`${what}: could not start /bin/sh: ${err.message}`, { cause: err }));
      });
      child.once("close", (code, signal) => {
        timer.clear();
        process.removeListener("exit", killGroup);
        if (code === 0 && !timedOut) {
          done();
          return;
        }
        const why = timedOut ? `did not finish within ${this.timeoutMs / 1000} s` : signal ? `was killed by ${signal}` : `exited with code ${code}`;
        const tail = stderr.trim();
        fail(new Error(`${what} ${why}${tail ? `; its stderr:\n${tail}` : " (no stderr)"}`));
      });
    });
  }

  async close(): Promise<void> {}
}

// ---------------------------------------------------------------------------------------------------------------
// vllm-nccl

/** What vLLM's NCCL receiver needs per update (NCCLWeightTransferUpdateInfo): the tensors the learner broadcasts, in
 *  broadcast order, with their wire dtypes (torch names) and full shapes. */
export interface NcclUpdateInfo {
  names: string[];
  dtype_names: string[];
  shapes: number[][];
}

export interface NcclGroupSpec {
  /** Where the learner's rank 0 opens the group's rendezvous store (an address the inference workers reach). */
  masterAddress: string;
  masterPort: number;
  /** 1 (the learner's rank 0) + every inference worker of every endpoint. */
  worldSize: number;
}

/** The learner half (LearnerClient implements it with the learner's `init_weight_transfer` / `send_weights`). */
export interface NcclWeightSender {
  /** Joins the group as rank 0; resolves once every worker joined, with what each `sendWeights` will broadcast. */
  initWeightTransfer(group: NcclGroupSpec): Promise<NcclUpdateInfo>;
  /** Broadcasts every tensor of the update info, in its order; resolves once all were sent. */
  sendWeights(): Promise<unknown>;
}

/** The endpoint calls VllmNcclWeightSync makes (VllmDevControl has them). */
export type NcclEndpoint = Pick<VllmDevControl, "rootUrl" | "worldSize" | "initWeightTransfer" | "startWeightUpdate" | "updateWeights" | "finishWeightUpdate">;

export interface VllmNcclWeightSyncOptions {
  endpoints: readonly NcclEndpoint[];
  learner: NcclWeightSender;
  masterAddress: string;
  masterPort: number;
}

/**
 * vLLM's native NCCL weight transfer (`--weight-transfer-config '{"backend": "nccl"}'`, `VLLM_SERVER_DEV_MODE=1`),
 * driven over HTTP, with the learner's rank 0 as the sender (group rank 0). Written against vLLM's
 * vllm/distributed/weight_transfer/nccl_engine.py and entrypoints/serve/dev/rlhf/api_router.py, vLLM 0.16 (the API's
 * first release) through the current ≈0.33. The payloads are the unpacked dense-NCCL ones, the same in all of them:
 *
 * init (once): GET /get_world_size on every endpoint (its workers: TP × PP × DP); world = 1 + their sum; endpoint k's
 *   workers take ranks from rank_offset = 1 + the sizes before it. Every endpoint gets, concurrently with the
 *   learner's joining as rank 0 (both sides block in the rendezvous), POST /init_weight_transfer_engine
 *   {"init_info": {"master_address", "master_port", "rank_offset", "world_size"}}. (`packed` is left out: the
 *   receiver's default, unpacked, is what the learner sends; newer vLLM takes it in init_info, 0.16–≈0.2x in
 *   update_info, and both reject unknown keys.)
 * push: POST /start_weight_update on every endpoint (a 404 from every one = a vLLM before the start/finish phases:
 *   then init + update only, and the label is set by the loop's /update_weight_version); then, concurrently, the
 *   learner's broadcast and POST /update_weights {"update_info": {"names", "dtype_names", "shapes"}} on every
 *   endpoint (each returns once its workers received and loaded every tensor); then POST /finish_weight_update
 *   {"weight_version"} on every endpoint.
 *
 * A failed push leaves the NCCL group in an unknown state (a worker may still wait in a broadcast): the run must stop
 * (the learner and the servers restarted), so every later push fails at once.
 */
export class VllmNcclWeightSync implements WeightSync {
  readonly method = "vllm-nccl" as const;
  private updateInfo: NcclUpdateInfo | null = null;
  private phases = true;
  private broken: Error | null = null;

  constructor(private readonly opts: VllmNcclWeightSyncOptions) {
    if (opts.endpoints.length === 0) throw new Error("weight sync (vllm-nccl): no inference endpoints");
    if (!Number.isSafeInteger(opts.masterPort) || opts.masterPort < 1 || opts.masterPort > 65535) {
      throw new RangeError(`weight sync (vllm-nccl): the NCCL master port must be in 1..65535, not ${opts.masterPort}`);
    }
    if (opts.masterAddress.trim() === "") throw new Error("weight sync (vllm-nccl): no NCCL master address (the learner rank 0's host as the inference workers reach it)");
  }

  async init(): Promise<void> {
    if (this.updateInfo) return;
    const { endpoints, learner, masterAddress, masterPort } = this.opts;
    const sizes = await Promise.all(endpoints.map((e) => e.worldSize().catch((err: Error) => Promise.reject(new Error(`${e.rootUrl}: ${err.message}`)))));
    const worldSize = 1 + sizes.reduce((a, b) => a + b, 0);
    const offsets = sizes.map((_, k) => 1 + sizes.slice(0, k).reduce((a, b) => a + b, 0));
    const joined = learner.initWeightTransfer({ masterAddress, masterPort, worldSize });
    const initialised = onEvery(
      "init_weight_transfer_engine (NCCL)",
      endpoints.map((e, k) => ({ e, k })),
      ({ e }) => e.rootUrl,
      ({ e, k }) => e.initWeightTransfer({ master_address: masterAddress, master_port: masterPort, rank_offset: offsets[k]!, world_size: worldSize }),
    );
    const [info] = await this.settleAll("the NCCL group set-up", joined, initialised);
    checkUpdateInfo(info);
    this.updateInfo = info;
  }

  async push(version: number, _checkpointDir: string | null): Promise<void> {
    checkVersion(version);
    if (this.broken) throw new Error(`weight sync (vllm-nccl) is unusable after a failed push: ${this.broken.message}`);
    const info = this.updateInfo;
    if (!info) throw new Error("weight sync (vllm-nccl): init() must come before the first push");
    const { endpoints, learner } = this.opts;
    try {
      if (this.phases) await this.start();
      const sent = learner.sendWeights();
      const received = onEvery("update_weights (NCCL)", endpoints, (e) => e.rootUrl, (e) => e.updateWeights({ ...info }));
      await this.settleAll(`the NCCL broadcast of version ${version}`, sent, received);
      if (this.phases) await onEvery("finish_weight_update", endpoints, (e) => e.rootUrl, (e) => e.finishWeightUpdate(String(version)));
    } catch (err) {
      this.broken = err as Error;
      throw err;
    }
  }

  async close(): Promise<void> {
    // vLLM has no call to leave the group; it ends with the processes.
  }

  /** start_weight_update on every endpoint; all answering 404 = an older vLLM without the phases. */
  private async start(): Promise<void> {
    const { endpoints } = this.opts;
    const results = await Promise.allSettled(endpoints.map((e) => e.startWeightUpdate()));
    const missing = results.map((r) => r.status === "rejected" && r.reason instanceof ControlHttpError && r.reason.status === 404);
    if (missing.every(Boolean)) {
      this.phases = false;
      return;
    }
    const failed = results.flatMap((r, i) => (r.status === "rejected" ? [`${endpoints[i]!.rootUrl}: ${(r.reason as Error).message}`] : []));
    if (failed.length > 0) throw new Error(`start_weight_update failed on ${failed.length} of ${endpoints.length} endpoint(s):\n  ${failed.join("\n  ")}`);
  }

  /** Both sides of a rendezvous: resolves when both did; rejects as soon as either fails, saying which — the other
   *  side is then blocked in NCCL waiting for a peer that will not come, and is left to its own timeout or to the
   *  end of its process (the run must stop: see the class comment). */
  private settleAll<A, B>(what: string, a: Promise<A>, b: Promise<B>): Promise<[A, B]> {
    const learnerSide = a.catch((err: Error) => Promise.reject(new Error(`${what} failed: learner: ${err.message}`, { cause: err })));
    const serverSide = b.catch((err: Error) => Promise.reject(new Error(`${what} failed: ${err.message}`, { cause: err })));
    // The loser's rejection is handled here too, so a late failure of the other side is never unhandled.
    learnerSide.catch(() => {});
    serverSide.catch(() => {});
    return Promise.all([learnerSide, serverSide]);
  }
}

function checkUpdateInfo(info: NcclUpdateInfo): void {
  const n = info.names.length;
  if (n === 0) throw new Error("weight sync (vllm-nccl): the learner declared no tensors to send");
  if (info.dtype_names.length !== n || info.shapes.length !== n) {
    throw new Error(`weight sync (vllm-nccl): the learner declared ${n} names, ${info.dtype_names.length} dtypes and ${info.shapes.length} shapes`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// factory

export interface WeightSyncSettings {
  /** The inference base URLs (…/v1 or the root). */
  endpoints: readonly string[];
  /** Control-call options for each endpoint (timeouts, api key). */
  control?: VllmDevControlOptions;
  /** disk: the endpoints' loaders (default: VllmDevControl per URL). */
  diskLoaders?: readonly (DiskWeightLoader & { rootUrl?: string })[];
  /** vllm-nccl */
  learner?: NcclWeightSender;
  ncclMasterAddress?: string;
  ncclMasterPort?: number;
  /** command */
  command?: string;
  commandTimeoutMs?: number;
}

/** The WeightSync of `method`, with what it needs from `settings` (a missing piece is an error that names it). */
export function weightSyncFor(method: WeightSyncMethod, settings: WeightSyncSettings): WeightSync {
  switch (method) {
    case "disk":
      return new DiskWeightSync(settings.diskLoaders ?? settings.endpoints.map((url) => new VllmDevControl(url, settings.control)));
    case "command":
      if (!settings.command) throw new Error("weight sync method command needs the command to run (--weight-sync-command)");
      return new CommandWeightSync({ command: settings.command, endpoints: settings.endpoints, timeoutMs: settings.commandTimeoutMs });
    case "vllm-nccl":
      if (!settings.learner) throw new Error("weight sync method vllm-nccl needs the learner (its rank 0 sends the weights)");
      if (!settings.ncclMasterAddress || settings.ncclMasterPort === undefined) {
        throw new Error("weight sync method vllm-nccl needs the NCCL master address and port (the learner rank 0's host and a free port the inference workers reach)");
      }
      return new VllmNcclWeightSync({
        endpoints: settings.endpoints.map((url) => new VllmDevControl(url, settings.control)),
        learner: settings.learner,
        masterAddress: settings.ncclMasterAddress,
        masterPort: settings.ncclMasterPort,
      });
    default: {
      const never: never = method;
      throw new Error(`unknown weight sync method ${String(never)} (disk, vllm-nccl, command)`);
    }
  }
}

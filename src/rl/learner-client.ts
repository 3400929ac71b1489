import type { ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface } from "node:readline";
import { z } from "zod";
import { findLearnerPython, killLearnerGroup, learnerStartError, spawnLearnerModule, type LearnerLaunch, type LearnerPython } from "./learner-python.js";

/**
 * Drives `python -m tmax_learner serve` over its JSON-lines protocol (learner/PROTOCOL.md): starts it, waits for
 * `ready`, sends `step` / `save` / `shutdown` requests with numeric ids and matches the replies by id. A reply with
 * `ok: false` rejects the request with the server's message (the server keeps serving). The server's stderr goes,
 * line by line, to `onLog`.
 *
 * The child never outlives its driver: its process group (torchrun and every rank, under `launch`) is killed when
 * `signal` aborts, when `close()` is called and when this Node process exits; and the server itself exits when its
 * stdin closes (so also when this process is SIGKILLed).
 */

export interface LearnerServeOptions {
  modelDir: string;
  outDir: string;
  /** More `serve` flags, as on its command line (e.g. ["--lr", "1e-5", "--hf-every", "0"]). */
  serveArgs?: readonly string[];
  /** Default: findLearnerPython(). */
  python?: LearnerPython;
  /** Each stderr line of the server (logs, progress). */
  onLog?: (line: string) => void;
  /** Aborting kills the server and rejects whatever is pending. */
  signal?: AbortSignal;
  /** Data-parallel ranks under torchrun (default: one process). */
  launch?: LearnerLaunch;
}

const finite = z.number().nullable();

const readySchema = z.object({
  type: z.literal("ready"),
  protocol: z.literal(1),
  step: z.number().int().nonnegative(),
  data_position: z.unknown(),
  world_size: z.number().int().positive(),
  device: z.string(),
  sharding: z.enum(["fsdp2", "replicate"]).optional(),
});

const stepReportSchema = z
  .object({
    applied: z.boolean(),
    skip_reason: z.string().nullable(),
    loss: finite,
    grad_norm: finite,
    tokens: z.number().int().nonnegative(),
    row_tokens: z.number().int().nonnegative(),
    seconds: finite,
  })
  .catchall(z.unknown());

const stepReplySchema = z.object({
  type: z.literal("step"),
  step: z.number().int().nonnegative(),
  report: stepReportSchema,
  saved: z.array(z.string()),
});

const saveReplySchema = z.object({ type: z.literal("save"), kind: z.enum(["hf", "resume"]), step: z.number().int(), path: z.string() });
const initWeightTransferReplySchema = z.object({
  type: z.literal("init_weight_transfer"),
  update_info: z.object({ names: z.array(z.string()), dtype_names: z.array(z.string()), shapes: z.array(z.array(z.number().int().nonnegative())) }),
});
const sendWeightsReplySchema = z.object({
  type: z.literal("send_weights"),
  step: z.number().int().nonnegative(),
  tensors: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
  seconds: z.number().nonnegative(),
});
const shutdownReplySchema = z.object({ type: z.literal("shutdown"), step: z.number().int() });

export type LearnerReady = z.infer<typeof readySchema>;
/** `report` holds the fields PROTOCOL.md lists (non-finite values are null); the named ones are checked. */
export type LearnerStepReply = z.infer<typeof stepReplySchema>;
export type LearnerSaveReply = z.infer<typeof saveReplySchema>;
export type LearnerSendWeightsReply = z.infer<typeof sendWeightsReplySchema>;

/** The NCCL weight-transfer group the learner's rank 0 joins as rank 0 (PROTOCOL.md, `init_weight_transfer`). */
export interface LearnerNcclGroup {
  masterAddress: string;
  masterPort: number;
  worldSize: number;
  /** The wire dtype of every tensor (default bfloat16: what vLLM serves; float32 sends the fp32 master weights). */
  dtype?: "bfloat16" | "float16" | "float32";
}

interface Pending {
  resolve: (reply: Record<string, unknown>) => void;
  reject: (err: Error) => void;
}

/** The last stderr lines kept, to explain an unexpected exit. */
const STDERR_TAIL_LINES = 20;

export class LearnerClient {
  readonly ready: LearnerReady;
  /** Settles when the server process has exited: its exit code, or null when a signal ended it. */
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly pending: Map<number, Pending>;
  private nextId = 1;

  private constructor(child: ChildProcessWithoutNullStreams, ready: LearnerReady, pending: Map<number, Pending>, exited: Promise<number | null>) {
    this.child = child;
    this.ready = ready;
    this.pending = pending;
    this.exited = exited;
  }

  /** Starts the server and resolves once it sent `ready`; rejects (with the server's last stderr lines) if it exits
   *  first or `signal` aborts. */
  static start(options: LearnerServeOptions): Promise<LearnerClient> {
    const python = options.python ?? findLearnerPython();
    const args = ["serve", "--model-dir", options.modelDir, "--out-dir", options.outDir, ...(options.serveArgs ?? [])];
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(abortError(signal));
    const child = spawnLearnerModule(python, args, options.launch);
    const pending = new Map<number, Pending>();
    const stderrTail: string[] = [];
    let failure: Error | undefined;

    const killChild = (): void => killLearnerGroup(child);
    process.once("exit", killChild);
    const onAbort = (): void => {
      failure ??= abortError(signal!);
      killChild();
    };
    signal?.addEventListener("abort", onAbort, { once: true });

    return new Promise<LearnerClient>((resolve, reject) => {
      let client: LearnerClient | undefined;
      const exited = new Promise<number | null>((resolveExit) => {
        child.once("close", (code, sig) => {
          process.removeListener("exit", killChild);
          signal?.removeEventListener("abort", onAbort);
          const why = failure ?? new Error(`the learner exited (${sig ?? `code ${code}`})${stderrTail.length ? `:\n${stderrTail.join("\n")}` : ""}`);
          for (const request of pending.values()) request.reject(why);
          pending.clear();
          if (!client) reject(why);
          resolveExit(code);
        });
      });
      child.once("error", (err: NodeJS.ErrnoException) => {
        failure ??= learnerStartError(python, err);
      });

      createInterface({ input: child.stderr }).on("line", (line) => {
        stderrTail.push(line);
        if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
        options.onLog?.(line);
      });
      createInterface({ input: child.stdout }).on("line", (line) => {
        if (!line.trim()) return;
        let message: unknown;
        try {
          message = JSON.parse(line);
        } catch {
          failure ??= new Error(`the learner wrote a line that is not JSON: ${line.slice(0, 200)}`);
          killChild();
          return;
        }
        if (!client) {
          const ready = readySchema.safeParse(message);
          if (!ready.success) {
            failure ??= new Error(`the learner's first message is not a protocol-1 ready message: ${line.slice(0, 200)}`);
            killChild();
            return;
          }
          client = new LearnerClient(child, ready.data, pending, exited);
          resolve(client);
          return;
        }
        if (!LearnerClient.deliver(pending, message)) {
          failure ??= new Error(`the learner sent a reply that matches no request: ${line.slice(0, 200)}`);
          killChild();
        }
      });
    });
  }

  /** Settles the request the reply answers; false if it answers none. */
  private static deliver(pending: Map<number, Pending>, message: unknown): boolean {
    const reply = z.object({ id: z.unknown(), ok: z.boolean(), error: z.string().optional() }).passthrough().safeParse(message);
    const id = reply.success ? reply.data.id : undefined;
    const request = typeof id === "number" ? pending.get(id) : undefined;
    if (!reply.success || !request) return false;
    pending.delete(id as number);
    if (reply.data.ok) request.resolve(reply.data);
    else request.reject(new Error(`learner: ${reply.data.error ?? "request failed"}`));
    return true;
  }

  private request<S extends z.ZodTypeAny>(message: Record<string, unknown>, schema: S): Promise<z.infer<S>> {
    const id = this.nextId++;
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null || !this.child.stdin.writable) {
        reject(new Error("the learner is not running"));
        return;
      }
      this.pending.set(id, { resolve, reject });
      this.child.stdin.write(`${JSON.stringify({ ...message, id })}\n`);
    }).then((reply) => {
      const parsed = schema.safeParse(reply);
      if (!parsed.success) throw new Error(`the learner's ${String(message.type)} reply is malformed: ${parsed.error.message}`);
      return parsed.data;
    });
  }

  /** One optimizer step on the batch file (see learner-batch.ts). A skipped step resolves with `report.applied`
   *  false; only a request the server cannot act on rejects. */
  step(batchPath: string, dataPosition?: unknown): Promise<LearnerStepReply> {
    return this.request({ type: "step", batch: batchPath, ...withDataPosition(dataPosition) }, stepReplySchema);
  }

  save(kind: "hf" | "resume", dataPosition?: unknown): Promise<LearnerSaveReply> {
    return this.request({ type: "save", kind, ...withDataPosition(dataPosition) }, saveReplySchema);
  }

  /** Joins vLLM's NCCL weight-transfer group as its rank 0 (blocks until every inference worker joined: call it
   *  while the endpoints' /init_weight_transfer_engine calls run) and resolves with the update info to send them. */
  async initWeightTransfer(group: LearnerNcclGroup): Promise<z.infer<typeof initWeightTransferReplySchema>["update_info"]> {
    const reply = await this.request(
      {
        type: "init_weight_transfer",
        master_address: group.masterAddress,
        master_port: group.masterPort,
        world_size: group.worldSize,
        ...(group.dtype ? { dtype: group.dtype } : {}),
      },
      initWeightTransferReplySchema,
    );
    return reply.update_info;
  }

  /** Broadcasts the current weights to the group (every rank takes part; rank 0 sends). Call it while the
   *  endpoints' /update_weights calls run. */
  sendWeights(): Promise<LearnerSendWeightsReply> {
    return this.request({ type: "send_weights" }, sendWeightsReplySchema);
  }

  /** Asks the server to stop and waits until it has exited; resolves with the final weights version. */
  async shutdown(): Promise<number> {
    const reply = await this.request({ type: "shutdown" }, shutdownReplySchema);
    this.child.stdin.end();
    await this.exited;
    return reply.step;
  }

  /** Kills the server now (pending requests reject) and waits for it to exit. */
  async close(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) killLearnerGroup(this.child);
    await this.exited;
  }

  /** The server's process id. */
  get pid(): number | undefined {
    return this.child.pid;
  }
}

function withDataPosition(dataPosition: unknown): { data_position?: unknown } {
  return dataPosition === undefined ? {} : { data_position: dataPosition };
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error("the learner was aborted");
}

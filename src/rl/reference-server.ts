import type { ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface } from "node:readline";
import { z } from "zod";
import { setLongTimeout } from "../util/timers.js";
import { findLearnerPython, learnerStartError, spawnLearnerModule, type LearnerPython } from "./learner-python.js";

/**
 * tmax's reference inference server — `python -m tmax_learner serve-inference` (learner/INFERENCE.md): a Hugging Face
 * model dir served on vLLM's /v1/completions with vLLM's RL control endpoints, on CPU. This module starts it, waits
 * for its `ready` line (the URL, with the port it bound) and stops it.
 *
 * The server never outlives its starter: it is started with --exit-with-stdin and its stdin is a pipe from this
 * process, so it stops when this process goes away however that happens (SIGKILL included); it is also killed when
 * this Node process exits, and `close()` stops it with SIGTERM (SIGKILL after a grace period).
 */

export interface ReferenceServerOptions {
  modelDir: string;
  /** Default 127.0.0.1: the control endpoints have no authentication (as vLLM's dev mode). */
  host?: string;
  /** Default 8000; 0 picks a free port. */
  port?: number;
  servedModelNames?: readonly string[];
  seed?: number;
  maxModelLen?: number;
  threads?: number;
  /** One LM-head product per step over all running requests: faster with many requests, reproducible only up to
   *  float noise (INFERENCE.md). */
  batchDecode?: boolean;
  logRequests?: boolean;
  /** Default: findLearnerPython(). */
  python?: LearnerPython;
  /** Each stderr line of the server. */
  onLog?: (line: string) => void;
  /** Aborting before the server is ready kills it and rejects start(); once ready, close() stops it. */
  signal?: AbortSignal;
}

const readySchema = z.object({
  event: z.literal("ready"),
  url: z.string(),
  host: z.string(),
  port: z.number().int().positive(),
  served_names: z.array(z.string()).min(1),
  weight_version: z.string(),
  max_model_len: z.number().int().positive(),
  pid: z.number().int().positive(),
});

export type ReferenceServerReady = z.infer<typeof readySchema>;

const STDERR_TAIL_LINES = 20;
const STOP_GRACE_MS = 10_000;

export class ReferenceServer {
  /** Base URL ending in /v1, for the OpenAI-compatible clients; the control endpoints are at its root. */
  readonly url: string;
  readonly ready: ReferenceServerReady;
  /** Settles when the server process has exited: its exit code, or null when a signal ended it. */
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcessWithoutNullStreams;

  private constructor(child: ChildProcessWithoutNullStreams, ready: ReferenceServerReady, exited: Promise<number | null>) {
    this.child = child;
    this.ready = ready;
    this.url = ready.url;
    this.exited = exited;
  }

  static start(options: ReferenceServerOptions): Promise<ReferenceServer> {
    const python = options.python ?? findLearnerPython();
    const args = ["serve-inference", "--model-dir", options.modelDir, "--exit-with-stdin"];
    args.push("--host", options.host ?? "127.0.0.1", "--port", String(options.port ?? 8000));
    if (options.servedModelNames?.length) args.push("--served-model-name", ...options.servedModelNames);
    if (options.seed !== undefined) args.push("--seed", String(options.seed));
    if (options.maxModelLen !== undefined) args.push("--max-model-len", String(options.maxModelLen));
    if (options.threads !== undefined) args.push("--threads", String(options.threads));
    if (options.batchDecode) args.push("--batch-decode");
    if (options.logRequests) args.push("--log-requests");
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(abortError(signal));
    const child = spawnLearnerModule(python, args);
    const stderrTail: string[] = [];
    let failure: Error | undefined;
    const killChild = (): void => void child.kill("SIGKILL");
    process.once("exit", killChild);
    const onAbort = (): void => {
      failure ??= abortError(signal!);
      killChild();
    };
    signal?.addEventListener("abort", onAbort, { once: true });

    return new Promise<ReferenceServer>((resolve, reject) => {
      let server: ReferenceServer | undefined;
      const exited = new Promise<number | null>((resolveExit) => {
        child.once("close", (code, sig) => {
          process.removeListener("exit", killChild);
          signal?.removeEventListener("abort", onAbort);
          if (!server) {
            reject(failure ?? new Error(`the reference server exited (${sig ?? `code ${code}`}) before it was ready${stderrTail.length ? `:\n${stderrTail.join("\n")}` : ""}`));
          }
          resolveExit(code);
        });
      });
      child.once("error", (err: NodeJS.ErrnoException) => {
        failure = learnerStartError(python, err);
      });
      createInterface({ input: child.stderr }).on("line", (line) => {
        stderrTail.push(line);
        if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
        options.onLog?.(line);
      });
      const lines = createInterface({ input: child.stdout });
      lines.once("line", (line) => {
        let parsed: ReferenceServerReady;
        try {
          parsed = readySchema.parse(JSON.parse(line));
        } catch (err) {
          failure = new Error(`the reference server's first line is not its ready message: ${line.slice(0, 200)} (${(err as Error).message})`);
          killChild();
          return;
        }
        server = new ReferenceServer(child, parsed, exited);
        signal?.removeEventListener("abort", onAbort); // from here on close() stops it
        resolve(server);
      });
    });
  }

  /** Stops the server: SIGTERM (it aborts what is running and exits), SIGKILL if it is still there after the grace
   *  period. Resolves once it has exited. */
  async close(graceMs: number = STOP_GRACE_MS): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill("SIGTERM");
    const timer = setLongTimeout(() => this.child.kill("SIGKILL"), graceMs);
    try {
      await this.exited;
    } finally {
      timer.clear();
    }
  }
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error("aborted");
}

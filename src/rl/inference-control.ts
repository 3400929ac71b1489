import { resolve } from "node:path";
import { z } from "zod";
import { setLongTimeout } from "../util/timers.js";

/**
 * The control plane tmax drives on an inference server around each weight sync (spec rl.md §8): pause without
 * draining, load the new weights, label them with the policy version, resume. `InferenceControl` is what the
 * training loop needs of an endpoint; `VllmDevControl` implements it over vLLM's dev-mode HTTP endpoints
 * (`VLLM_SERVER_DEV_MODE=1`; vllm/entrypoints/serve/dev/rlhf/api_router.py), which tmax's reference server
 * (`tmax serve`) serves too. Weight transports are separate: `DiskWeightLoader` is vLLM's `disk` weight-transfer
 * backend (the server reads a safetensors dir the learner wrote); an NCCL sender would be another implementation
 * next to it, using the same pause / version calls.
 *
 * Every call has a timeout (a sync that hangs must fail, not stall training) and fails with the server's message.
 */

/** vLLM's pause modes: `keep` freezes requests in flight (KV cache kept) until resume — the recipe's; `wait` lets them
 *  finish first; `abort` ends them (finish_reason "abort"). */
export type PauseMode = "keep" | "wait" | "abort";

export interface InferenceControl {
  /** The server's root URL (no /v1). */
  readonly rootUrl: string;
  /** Resolves once the server is paused (with `keep`: no token is sampled until resume). */
  pause(mode?: PauseMode): Promise<void>;
  resume(): Promise<void>;
  isPaused(): Promise<boolean>;
  /** The label of the weights in use (GET /weight_info); null when the server has none. */
  weightVersion(): Promise<string | null>;
  /** Labels the weights in use without changing them. */
  setWeightVersion(version: string): Promise<void>;
}

export interface DiskWeightLoader {
  /** Loads the safetensors checkpoint in `dir` (a learner checkpoint OUT/step_N/) and labels it `version`. Call it
   *  while the server is paused. */
  loadWeightsFromDisk(dir: string, version: string): Promise<void>;
}

export interface VllmDevControlOptions {
  /** Per-call timeout for pause / resume / labels (default 60 s). */
  timeoutMs?: number;
  /** Timeout of the weight load itself (default 600 s). */
  loadTimeoutMs?: number;
  /** Sent as a bearer token when set (vLLM's dev endpoints ignore it; a proxy in front may not). */
  apiKey?: string | null;
}

const weightInfoSchema = z.object({ weight_version: z.string().nullable() });
const worldSizeSchema = z.object({ world_size: z.number().int().positive() });

/** A control call the server answered with an HTTP error status (the message carries the server's text). */
export class ControlHttpError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = "ControlHttpError";
  }
}
const isPausedSchema = z.object({ is_paused: z.boolean() });

/** The server's root from a base URL as the completion clients take it (…/v1). */
export function serverRootUrl(baseUrl: string): string {
  return baseUrl.replace(/\/+$/, "").replace(/\/v1$/, "");
}

export class VllmDevControl implements InferenceControl, DiskWeightLoader {
  readonly rootUrl: string;
  private readonly timeoutMs: number;
  private readonly loadTimeoutMs: number;
  private readonly apiKey: string | null;
  private transferReady = false;

  constructor(baseUrl: string, opts: VllmDevControlOptions = {}) {
    this.rootUrl = serverRootUrl(baseUrl);
    this.timeoutMs = opts.timeoutMs ?? 60_000;
    this.loadTimeoutMs = opts.loadTimeoutMs ?? 600_000;
    this.apiKey = opts.apiKey ?? null;
  }

  async pause(mode: PauseMode = "keep"): Promise<void> {
    await this.call("POST", `/pause?mode=${mode}`);
  }

  async resume(): Promise<void> {
    await this.call("POST", "/resume");
  }

  async isPaused(): Promise<boolean> {
    return isPausedSchema.parse(await this.call("GET", "/is_paused")).is_paused;
  }

  async weightVersion(): Promise<string | null> {
    return weightInfoSchema.parse(await this.call("GET", "/weight_info")).weight_version;
  }

  async setWeightVersion(version: string): Promise<void> {
    await this.call("POST", "/update_weight_version", { new_version: version });
  }

  /** vLLM's weight-transfer sequence with the disk backend: init (once), start, update {path}, finish {version}. */
  async loadWeightsFromDisk(dir: string, version: string): Promise<void> {
    if (!this.transferReady) {
      await this.initWeightTransfer({});
      this.transferReady = true;
    }
    await this.startWeightUpdate();
    await this.updateWeights({ path: resolve(dir) });
    await this.finishWeightUpdate(version);
  }

  // vLLM's weight-transfer calls one by one (vllm/entrypoints/serve/dev/rlhf/api_router.py; vLLM ≥ 0.16, start and
  // finish since ≈0.22), for transports that interleave them with work elsewhere (NCCL: update_weights blocks while
  // the learner broadcasts).

  /** GET /get_world_size: the ranks the server's workers take in a weight-transfer group (TP × PP × DP). */
  async worldSize(): Promise<number> {
    return worldSizeSchema.parse(await this.call("GET", "/get_world_size")).world_size;
  }

  /** POST /init_weight_transfer_engine {"init_info"}: with NCCL it returns once the workers joined the group. */
  async initWeightTransfer(initInfo: Record<string, unknown>, timeoutMs: number = this.loadTimeoutMs): Promise<void> {
    await this.call("POST", "/init_weight_transfer_engine", { init_info: initInfo }, timeoutMs);
  }

  /** POST /start_weight_update. Rejects with ControlHttpError 404 on a vLLM without the start/finish phases. */
  async startWeightUpdate(): Promise<void> {
    await this.call("POST", "/start_weight_update");
  }

  /** POST /update_weights {"update_info"}: returns once the server has the weights (the load timeout applies). */
  async updateWeights(updateInfo: Record<string, unknown>): Promise<void> {
    await this.call("POST", "/update_weights", { update_info: updateInfo }, this.loadTimeoutMs);
  }

  /** POST /finish_weight_update {"weight_version"}: the new weights go live, labelled `version`. */
  async finishWeightUpdate(version: string): Promise<void> {
    await this.call("POST", "/finish_weight_update", { weight_version: version });
  }

  private async call(method: "GET" | "POST", path: string, body?: unknown, timeoutMs: number = this.timeoutMs): Promise<unknown> {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    const what = `${method} ${this.rootUrl}${path}`;
    const deadline = new AbortController();
    const timer = setLongTimeout(() => deadline.abort(), timeoutMs);
    let reply: Response;
    let text: string;
    try {
      reply = await fetch(`${this.rootUrl}${path}`, {
        method,
        headers,
        body: method === "POST" ? JSON.stringify(body ?? {}) : undefined,
        signal: deadline.signal,
      });
      text = await reply.text();
    } catch (err) {
      const reason = deadline.signal.aborted ? `no reply within ${timeoutMs / 1000} s` : (err as Error).message;
      throw new Error(`${what}: ${reason}`, { cause: err });
    } finally {
      timer.clear();
    }
    if (!reply.ok) throw new ControlHttpError(`${what}: HTTP ${reply.status}: ${errorText(text)}`, reply.status);
    if (text.trim() === "") return null;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new Error(`${what}: the reply is not JSON: ${text.slice(0, 200)}`);
    }
  }
}

/** The message of vLLM's ErrorResponse ({"error": {"message"}}), FastAPI's {"detail"} or {"error": "…"}. */
function errorText(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: { message?: unknown } | string; detail?: unknown };
    if (typeof body.error === "string") return body.error;
    if (typeof body.error?.message === "string") return body.error.message;
    if (typeof body.detail === "string") return body.detail;
  } catch {
    // not JSON: the raw text says it
  }
  return text.slice(0, 500) || "(no body)";
}

import { CompletionsTokenClient } from "../../model/completions-client.js";
import type { TokenModelClient, TokenReply, TokenRequest } from "../../model/types.js";
import { LeastInFlight } from "../../util/least-in-flight.js";
import { VllmDevControl, type PauseMode } from "../inference-control.js";

/**
 * The inference endpoints of a training run (vLLM or tmax serve, one or more): sampling requests go to the endpoint
 * with the fewest in flight (ties: the first), and a weight sync pauses, updates and resumes all of them together.
 */

export interface Endpoint {
  baseUrl: string;
  client: TokenModelClient;
  control: VllmDevControl;
}

export class EndpointPool implements TokenModelClient {
  readonly model: string;
  readonly endpoints: Endpoint[];
  private readonly balance: LeastInFlight<Endpoint>;

  constructor(baseUrls: readonly string[], model: string, apiKey: string | null = null) {
    if (baseUrls.length === 0) throw new RangeError("a training run needs at least one inference endpoint");
    this.model = model;
    this.endpoints = baseUrls.map((baseUrl) => ({
      baseUrl,
      client: new CompletionsTokenClient({ baseUrl, model, apiKey }),
      control: new VllmDevControl(baseUrl, apiKey === null ? {} : { apiKey }),
    }));
    this.balance = new LeastInFlight(this.endpoints);
  }

  /** Requests being sampled now, over all endpoints. */
  get inFlight(): number {
    return this.balance.inFlight();
  }

  async sample(request: TokenRequest, signal?: AbortSignal): Promise<TokenReply> {
    // Endpoints are never benched here, so there is always one to take.
    const lease = this.balance.acquire()!;
    try {
      return await lease.member.client.sample(request, signal);
    } finally {
      lease.release();
    }
  }

  async pauseAll(mode: PauseMode = "keep"): Promise<void> {
    await Promise.all(this.endpoints.map((e) => e.control.pause(mode)));
  }

  async resumeAll(): Promise<void> {
    await Promise.all(this.endpoints.map((e) => e.control.resume()));
  }

  async setWeightVersion(version: number): Promise<void> {
    await Promise.all(this.endpoints.map((e) => e.control.setWeightVersion(String(version))));
  }
}

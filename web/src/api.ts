import type { CompareResponse, CorpusResponse, JobResponse, RolloutResponse, RolloutsResponse, JobsResponse, RunResponse, TrajectoryResponse, TrialResponse } from "../../src/view/api-types.js";

/** The viewer's JSON API (src/view/api.ts). View paths go into URLs segment by segment, percent-encoded. */

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export function encodeViewPath(viewPath: string): string {
  return viewPath.split("/").map(encodeURIComponent).join("/");
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { headers: { Accept: "application/json" } });
  const body = (await res.json().catch(() => ({ error: res.statusText }))) as T & { error?: string };
  if (!res.ok) throw new ApiError(body.error ?? res.statusText, res.status);
  return body;
}

export const api = {
  jobs: () => getJson<JobsResponse>("/api/jobs"),
  job: (p: string) => getJson<JobResponse>(`/api/job/${encodeViewPath(p)}`),
  trial: (p: string) => getJson<TrialResponse>(`/api/trial/${encodeViewPath(p)}`),
  trajectory: (p: string) => getJson<TrajectoryResponse>(`/api/trajectory/${encodeViewPath(p)}`),
  run: (p: string) => getJson<RunResponse>(`/api/run/${encodeViewPath(p)}`),
  corpus: (p: string) => getJson<CorpusResponse>(`/api/corpus/${encodeViewPath(p)}`),
  rollouts: (p: string) => getJson<RolloutsResponse>(`/api/rollouts/${encodeViewPath(p)}`),
  rollout: (p: string, index: number) => getJson<RolloutResponse>(`/api/rollout/${encodeViewPath(p)}?i=${index}`),
  corpusReportUrl: (p: string) => `/api/corpus-report/${encodeViewPath(p)}`,
  compare: (paths: string[]) => getJson<CompareResponse>(`/api/compare?${paths.map((p) => `job=${encodeURIComponent(p)}`).join("&")}`),
  fileUrl: (p: string) => `/api/file/${encodeViewPath(p)}`,
};

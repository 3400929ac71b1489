import { encodeViewPath } from "./api.js";

/**
 * Hash routes, one per page, so every page can be reloaded and shared (the server serves one index.html):
 *
 *   #/                         jobs (and training runs)
 *   #/job/<view path>          a job          #/trial/<view path>       a trial
 *   #/trajectory/<view path>   a trajectory   #/run/<view path>         a training run
 *   #/corpus/<view path>       a generated corpus
 *   #/rollouts/<step dir>      the rollouts of a training step   #/rollout/<step dir>?i=N   one rollout's tokens
 *   #/compare?job=<vp>&job=<vp>…               two or more jobs per task
 */

export type Route =
  | { page: "jobs" }
  | { page: "job" | "trial" | "trajectory" | "run" | "corpus" | "rollouts" | "rollout"; path: string; step?: number; index?: number }
  | { page: "compare"; paths: string[] }
  | { page: "missing"; hash: string };

const PAGES = ["job", "trial", "trajectory", "run", "corpus", "rollouts", "rollout"] as const;

export function parseRoute(hash: string): Route {
  const h = hash.replace(/^#/, "") || "/";
  const [pathPart = "/", query = ""] = h.split("?");
  if (pathPart === "/" || pathPart === "") return { page: "jobs" };
  if (pathPart === "/compare") return { page: "compare", paths: new URLSearchParams(query).getAll("job") };
  const m = /^\/([a-z]+)\/(.+)$/.exec(pathPart);
  const page = PAGES.find((p) => p === m?.[1]);
  if (!m || !page) return { page: "missing", hash };
  let path: string;
  try {
    path = m[2]!.split("/").map(decodeURIComponent).join("/");
  } catch {
    return { page: "missing", hash };
  }
  const params = new URLSearchParams(query);
  const step = Number(params.get("step"));
  const index = Number(params.get("i"));
  return {
    page,
    path,
    ...(Number.isInteger(step) && step > 0 ? { step } : {}),
    ...(params.has("i") && Number.isInteger(index) && index >= 0 ? { index } : {}),
  };
}

export const href = {
  jobs: () => "#/",
  job: (p: string) => `#/job/${encodeViewPath(p)}`,
  trial: (p: string) => `#/trial/${encodeViewPath(p)}`,
  trajectory: (p: string, step?: number) => `#/trajectory/${encodeViewPath(p)}${step ? `?step=${step}` : ""}`,
  run: (p: string) => `#/run/${encodeViewPath(p)}`,
  corpus: (p: string) => `#/corpus/${encodeViewPath(p)}`,
  rollouts: (stepDir: string) => `#/rollouts/${encodeViewPath(stepDir)}`,
  rollout: (stepDir: string, index: number) => `#/rollout/${encodeViewPath(stepDir)}?i=${index}`,
  compare: (paths: string[]) => `#/compare?${paths.map((p) => `job=${encodeURIComponent(p)}`).join("&")}`,
};

/** The job a trial view path belongs to (its parent). */
export const parentPath = (p: string): string => p.slice(0, Math.max(0, p.lastIndexOf("/")));

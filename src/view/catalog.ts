import { existsSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { JobDirError } from "../job/layout.js";
import { readTrainMetrics, rolloutSteps, TRAIN_METRICS_FILE } from "../store/train-run.js";
import { TrialIndex, type IndexedJob } from "../store/trial-index.js";
import { trainChartsSvg } from "../ui/html/train-report.js";
import type {
  CompareResponse,
  CorpusResponse,
  CorpusRow,
  JobResponse,
  JobRow,
  JobsResponse,
  RolloutResponse,
  RolloutsResponse,
  RunResponse,
  RunRow,
  TrajectoryResponse,
  TrialResponse,
} from "./api-types.js";
import { compareJobs } from "./compare.js";
import { discover, MANIFEST_FILE } from "./discover.js";
import { jobDetail } from "./job-detail.js";
import { jobRow } from "./job-summary.js";
import { PathMissing, PathRefused, ViewRoots } from "./roots.js";

/*
 * What the API answers, over the roots: every request resolves its view path through ViewRoots (nothing outside the
 * roots is ever opened), and trial listings go through one long-lived TrialIndex (each result.json read once,
 * re-read only when its mtime or size changes). Read-only: nothing here writes. The modules behind trial, trajectory,
 * corpus and rollout pages are loaded when first asked for: they bring the schema library and the tokenizers, which
 * the jobs list does not need.
 */
const trialPages = () => import("./trial-detail.js");
const corpusPages = () => import("./corpus-detail.js");
const rolloutPages = () => import("./rollouts-detail.js");

/** The catalog of one `tmax view`: what it shows, looked up per request (module comment above). */
export class Catalog {
  readonly roots: ViewRoots;
  private readonly index = new TrialIndex();

  constructor(dirs: readonly string[]) {
    this.roots = new ViewRoots(dirs);
  }

  async jobs(): Promise<JobsResponse> {
    const found = await discover(this.roots.dirs);
    const jobs: JobRow[] = [];
    const runs: RunRow[] = [];
    const corpora: CorpusRow[] = [];
    for (const [i, f] of found.entries()) {
      for (const dir of f.jobs) jobs.push(jobRow(this.roots.viewPathOf(i, dir), dir, await this.index.job(dir)));
      for (const dir of f.runs) runs.push(await this.runRow(this.roots.viewPathOf(i, dir), dir));
      for (const dir of f.corpora) corpora.push(await this.corpusRow(this.roots.viewPathOf(i, dir), dir));
    }
    return { roots: this.roots.info(), jobs, runs, corpora };
  }

  private async runRow(path: string, dir: string): Promise<RunRow> {
    const metrics = await readTrainMetrics(dir).catch(() => []);
    const last = metrics.at(-1)?.reward_mean;
    return { path, name: basename(dir), steps: metrics.length, lastReward: typeof last === "number" ? last : null };
  }

  private async corpusRow(path: string, dir: string): Promise<CorpusRow> {
    try {
      return (await corpusPages()).corpusRow(path, dir);
    } catch {
      return { path, name: basename(dir), accepted: 0, rejected: 0 }; // a damaged manifest: the corpus page says what is wrong
    }
  }

  private async indexedJob(viewPath: string): Promise<{ row: JobRow; job: IndexedJob }> {
    const { abs, viewPath: canonical } = await this.roots.resolve(viewPath);
    const job = await this.index.job(abs);
    if (job.trials.length === 0 && job.unreadable.length === 0) throw new JobDirError(`${viewPath}: not a job directory (no trials)`);
    return { row: jobRow(canonical, abs, job), job };
  }

  async job(viewPath: string): Promise<JobResponse> {
    const { row, job } = await this.indexedJob(viewPath);
    return jobDetail(row, job);
  }

  async compare(viewPaths: readonly string[]): Promise<CompareResponse> {
    if (viewPaths.length < 2) throw new PathRefused("compare needs two or more jobs");
    const jobs = [];
    for (const p of viewPaths) jobs.push(await this.indexedJob(p));
    return compareJobs(jobs);
  }

  /** A trial's directory, its canonical view path and its job's, refusing the root itself (a trial lives in a job). */
  private async trialDir(viewPath: string): Promise<{ abs: string; path: string; jobPath: string; jobDir: string }> {
    const { abs, viewPath: path } = await this.roots.resolve(viewPath);
    if (!path.includes("/")) throw new PathRefused(`${viewPath}: a root is not a trial`);
    return { abs, path, jobPath: path.slice(0, path.lastIndexOf("/")), jobDir: dirname(abs) };
  }

  async trial(viewPath: string): Promise<TrialResponse> {
    const { abs, path, jobPath, jobDir } = await this.trialDir(viewPath);
    const names = (await this.index.job(jobDir)).trials.map((t) => t.name);
    const at = names.indexOf(basename(abs));
    const siblings = { previous: at > 0 ? names[at - 1]! : null, next: at >= 0 && at < names.length - 1 ? names[at + 1]! : null };
    return (await trialPages()).trialDetail(path, jobPath, abs, siblings);
  }

  async trajectory(viewPath: string): Promise<TrajectoryResponse> {
    const { abs, path } = await this.trialDir(viewPath);
    const t = await (await trialPages()).trajectoryDetail(path, abs);
    if (!t) throw new PathMissing(`${viewPath}: the trial has no trajectory`);
    return t;
  }

  async run(viewPath: string): Promise<RunResponse> {
    const { abs, viewPath: path } = await this.roots.resolve(viewPath);
    if (!existsSync(join(abs, TRAIN_METRICS_FILE))) throw new PathMissing(`${viewPath}: not a training run (no ${TRAIN_METRICS_FILE})`);
    const metrics = await readTrainMetrics(abs);
    return { path, name: basename(abs), metrics, charts: trainChartsSvg(metrics), rolloutSteps: await rolloutSteps(abs) };
  }

  async corpus(viewPath: string): Promise<CorpusResponse> {
    const { abs, viewPath: path } = await this.corpusDir(viewPath);
    return (await corpusPages()).corpusDetail(path, abs);
  }

  async corpusReport(viewPath: string): Promise<string> {
    const { abs } = await this.corpusDir(viewPath);
    return (await corpusPages()).corpusReportHtml(abs);
  }

  private async corpusDir(viewPath: string): Promise<{ abs: string; viewPath: string }> {
    const resolved = await this.roots.resolve(viewPath);
    if (!existsSync(join(resolved.abs, MANIFEST_FILE))) throw new PathMissing(`${viewPath}: not a corpus (no ${MANIFEST_FILE})`);
    return resolved;
  }

  async rollouts(viewPath: string): Promise<RolloutsResponse> {
    const { abs, viewPath: path } = await this.roots.resolve(viewPath);
    return (await rolloutPages()).rolloutsList(path, abs);
  }

  async rollout(viewPath: string, index: number): Promise<RolloutResponse> {
    const { abs, viewPath: path } = await this.roots.resolve(viewPath);
    const r = await (await rolloutPages()).rolloutTokens(path, abs, index);
    if (!r) throw new PathMissing(`${viewPath}: no rollout ${index}`);
    return r;
  }

  /** A file's absolute path, for the raw-content route. */
  async file(viewPath: string): Promise<string> {
    return (await this.roots.resolve(viewPath)).abs;
  }
}

/**
 * Synthetic Harbor 0.6.x job directories of the size of the published Terminal-Bench 2.0 dumps: 89 tasks × 5
 * attempts per job. Every trial has what Harbor writes: config.json, result.json (~3 KB, the trial config embedded),
 * trial.log, agent/trajectory.json (an ATIF document of ~100 KB, so a reader that opens trajectories shows in the
 * timings), verifier/reward.txt and test-stdout.txt. Deterministic for a given seed.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface FixtureOptions {
  jobs: number;
  tasks: number;
  attempts: number;
  seed: number;
  /** Approximate size of each agent/trajectory.json in bytes. */
  trajectoryBytes: number;
  /**
   * Give each trial its own phase durations (a second random stream, so rewards, tokens and everything else stay as
   * without it); by default every trial takes the same 30 s + 5 s + 20 min + 60 s.
   */
  varyDurations?: boolean;
}

/** Phase lengths in ms: fixed, or drawn from `r` (setup 10–70 s, agent 2–30 min skewed short, verifier 20–120 s). */
function phaseLengths(r: (() => number) | null): { env: number; agentSetup: number; agent: number; verifier: number } {
  if (!r) return { env: 30_000, agentSetup: 5_000, agent: 1_200_000, verifier: 60_000 };
  return { env: 10_000 + Math.floor(r() * 60_000), agentSetup: 2_000 + Math.floor(r() * 6_000), agent: 120_000 + Math.floor(r() ** 2 * 1_680_000), verifier: 20_000 + Math.floor(r() * 100_000) };
}

/** mulberry32: small, fast, deterministic. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const HEX = "0123456789abcdef";
const WORDS = "the file server config port log error parse output directory build test run shell script python json key value".split(" ");

function pick(r: () => number, s: string, n: number): string {
  let out = "";
  for (let i = 0; i < n; i++) out += s[Math.floor(r() * s.length)];
  return out;
}

function uuid(r: () => number): string {
  const h = pick(r, HEX, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20)}`;
}

/** Harbor's trial timestamps: UTC with microseconds and Z. */
function utc(ms: number, micros: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, `.$1${String(micros).padStart(3, "0")}Z`);
}

function localNaive(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, "000");
}

function sentence(r: () => number, n: number): string {
  return Array.from({ length: n }, () => WORDS[Math.floor(r() * WORDS.length)]).join(" ");
}

function trajectory(r: () => number, bytes: number, model: string): object {
  const steps: object[] = [
    { step_id: 1, timestamp: "2025-11-20T10:00:00.000000Z", source: "system", message: sentence(r, 80) },
    { step_id: 2, timestamp: "2025-11-20T10:00:00.100000Z", source: "user", message: sentence(r, 120) },
  ];
  let size = 2000;
  while (size < bytes) {
    const cmd = sentence(r, 6);
    const out = sentence(r, 150);
    const id = `call_${pick(r, ALNUM, 12)}`;
    const s = {
      step_id: steps.length + 1,
      timestamp: "2025-11-20T10:01:00.000000Z",
      source: "agent",
      message: sentence(r, 20),
      model_name: model,
      reasoning_content: sentence(r, 60),
      tool_calls: [{ tool_call_id: id, function_name: "bash", arguments: { command: cmd } }],
      observation: { results: [{ source_call_id: id, content: out }] },
      metrics: { prompt_tokens: Math.floor(r() * 20000), completion_tokens: Math.floor(r() * 500), cached_tokens: 0 },
    };
    steps.push(s);
    size += JSON.stringify(s, null, 2).length + 40;
  }
  return {
    schema_version: "ATIF-v1.4",
    session_id: uuid(r),
    agent: { name: "vanillux2-agent", version: "0.1.0", model_name: model },
    steps,
    final_metrics: { total_prompt_tokens: 1, total_completion_tokens: 1, total_cached_tokens: 0, total_steps: steps.length },
  };
}

export interface FixtureJob {
  dir: string;
  trials: number;
}

/** Writes `opts.jobs` job directories under `root` and returns them. */
export function writeHarborJobs(root: string, opts: FixtureOptions): FixtureJob[] {
  const r = rng(opts.seed);
  const durations = opts.varyDurations ? rng(opts.seed + 1) : null;
  const taskNames = Array.from({ length: opts.tasks }, (_, i) => `${sentence(r, 2).replace(/ /g, "-")}-${i}`);
  const jobs: FixtureJob[] = [];
  for (let j = 0; j < opts.jobs; j++) {
    const jobName = `2025-11-${String(10 + j).padStart(2, "0")}__12-00-00`;
    const dir = join(root, jobName);
    mkdirSync(dir, { recursive: true });
    const jobId = uuid(r);
    const model = `openai/tmax-9b-step${(j + 1) * 100}`;
    const agentCfg = {
      name: "vanillux2-agent",
      import_path: "vanillux2.agent:VanilluxAgent",
      model_name: model,
      override_timeout_sec: null,
      override_setup_timeout_sec: null,
      max_timeout_sec: null,
      kwargs: { max_format_errors: 64, max_steps: 64, temperature: 0.7, top_p: 0.95, api_base: "http://gpu-host:8008/v1" },
    };
    const envCfg = {
      type: "daytona",
      import_path: null,
      force_build: false,
      delete: true,
      override_cpus: null,
      override_memory_mb: null,
      override_storage_mb: null,
      override_gpus: null,
      suppress_override_warnings: false,
      mounts_json: null,
      kwargs: {},
    };
    const verifierCfg = { override_timeout_sec: null, max_timeout_sec: null, disable: false };
    writeFileSync(
      join(dir, "config.json"),
      JSON.stringify(
        {
          job_name: jobName,
          jobs_dir: "jobs",
          n_attempts: opts.attempts,
          timeout_multiplier: 1.0,
          debug: false,
          orchestrator: { type: "local", n_concurrent_trials: 32, quiet: false, retry: { max_retries: 0, include_exceptions: null, exclude_exceptions: null, wait_multiplier: 1.0, min_wait_sec: 1.0, max_wait_sec: 60.0 }, kwargs: {} },
          environment: envCfg,
          verifier: verifierCfg,
          metrics: [],
          agents: [agentCfg],
          datasets: [{ name: "terminal-bench", version: "2.0", overwrite: false, download_dir: null, task_names: null, exclude_task_names: null, n_tasks: null }],
          tasks: [],
        },
        null,
        4,
      ),
    );
    // A handful of distinct trajectories per job is enough: they are there to be (not) read, not compared.
    const trajectories = Array.from({ length: 8 }, () => JSON.stringify(trajectory(r, opts.trajectoryBytes, model), null, 2));
    const t0 = Date.parse("2025-11-20T10:00:00Z") + j * 86_400_000;
    let trials = 0;
    for (let ti = 0; ti < opts.tasks; ti++) {
      const task = taskNames[ti]!;
      const difficulty = r();
      for (let a = 0; a < opts.attempts; a++) {
        const trialName = `${task.slice(0, 32)}__${pick(r, ALNUM, 7)}`;
        const tdir = join(dir, trialName);
        mkdirSync(join(tdir, "agent"), { recursive: true });
        mkdirSync(join(tdir, "verifier"), { recursive: true });
        const start = t0 + Math.floor(r() * 3_600_000);
        const roll = r();
        const exception = roll < 0.06 ? "AgentTimeoutError" : roll < 0.08 ? "DaytonaError" : null;
        const reward = exception === "DaytonaError" ? null : r() > difficulty ? 1.0 : 0.0;
        const config = {
          task: { path: task, git_url: "https://github.com/laude-institute/terminal-bench-2.git", git_commit_id: "69671fbaac6d67a7ef0dfec016cc38a64ef7a77c", overwrite: false, download_dir: null, source: "terminal-bench" },
          trial_name: trialName,
          trials_dir: `jobs/${jobName}`,
          timeout_multiplier: 1.0,
          agent: agentCfg,
          environment: envCfg,
          verifier: verifierCfg,
          job_id: jobId,
        };
        const step = (from: number, len: number): object => ({ started_at: utc(start + from, 123), finished_at: utc(start + from + len, 456) });
        const len = phaseLengths(durations);
        const end = len.env + len.agentSetup + len.agent + len.verifier;
        const result = {
          id: uuid(r),
          task_name: task,
          trial_name: trialName,
          trial_uri: `file:///home/user/jobs/${jobName}/${trialName}`,
          task_id: { git_url: config.task.git_url, git_commit_id: config.task.git_commit_id, path: task },
          source: "terminal-bench",
          task_checksum: pick(r, HEX, 64),
          config,
          agent_info: { name: "vanillux2-agent", version: "0.1.0", model_info: { name: model.split("/")[1], provider: "openai" } },
          agent_result: {
            n_input_tokens: Math.floor(r() * 2_000_000),
            n_cache_tokens: Math.floor(r() * 1_000_000),
            n_output_tokens: Math.floor(r() * 50_000),
            cost_usd: null,
            rollout_details: null,
            metadata: { n_steps: Math.floor(r() * 64), exit_status: exception ? "timeout" : "submitted", format_errors: Math.floor(r() * 3) },
          },
          verifier_result: reward === null ? null : { rewards: { reward } },
          exception_info: exception
            ? {
                exception_type: exception,
                exception_message: `${exception}: ${sentence(r, 8)}`,
                exception_traceback: `Traceback (most recent call last):\n  File "harbor/trial/trial.py", line 211, in run\n    await self._run_agent()\n${exception}: ${sentence(r, 8)}\n`,
                occurred_at: localNaive(start + 1_000_000),
              }
            : null,
          started_at: utc(start, 789),
          finished_at: utc(start + (durations ? end : 1_500_000), 12),
          environment_setup: step(0, len.env),
          agent_setup: step(len.env, len.agentSetup),
          agent_execution: step(len.env + len.agentSetup, len.agent),
          verifier: reward === null ? null : step(len.env + len.agentSetup + len.agent, len.verifier),
        };
        writeFileSync(join(tdir, "config.json"), JSON.stringify(config, null, 4));
        writeFileSync(join(tdir, "result.json"), JSON.stringify(result, null, 4));
        writeFileSync(join(tdir, "trial.log"), `${utc(start, 0)} trial started\n${utc(start + 1_500_000, 0)} trial finished\n`);
        writeFileSync(join(tdir, "agent", "trajectory.json"), trajectories[(ti + a) % trajectories.length]!);
        if (reward !== null) {
          writeFileSync(join(tdir, "verifier", "reward.txt"), `${reward === 1 ? 1 : 0}\n`);
          writeFileSync(join(tdir, "verifier", "test-stdout.txt"), `${sentence(r, 40)}\n${reward === 1 ? "PASSED" : "FAILED"}\n`);
        }
        if (exception) writeFileSync(join(tdir, "exception.txt"), result.exception_info!.exception_traceback);
        trials++;
      }
    }
    writeFileSync(
      join(dir, "result.json"),
      JSON.stringify(
        {
          id: jobId,
          started_at: localNaive(t0),
          finished_at: localNaive(t0 + 3_600_000),
          n_total_trials: trials,
          stats: { n_trials: trials, n_errors: 0, evals: {} },
        },
        null,
        4,
      ),
    );
    jobs.push({ dir, trials });
  }
  return jobs;
}

import { z } from "zod";
import { AgentConfigError, resolveSettings } from "../../agent/tmax/config.js";

/**
 * The settings of a `tmax train` run, with the recipe's defaults (spec rl.md §1). Keys are snake_case as in the YAML
 * config file; every key is also a flag (`--group-size 8` sets group_size). Paths are resolved against the config
 * file's directory (or the working directory for flags).
 */

const positiveInt = z.number().int().positive();

export const trainConfigSchema = z
  .object({
    /** A directory of Harbor tasks (each child with task.toml), or one task. */
    tasks: z.string().min(1),
    /** The Hugging Face model dir to start from (tokenizer, chat template, weights). */
    model_dir: z.string().min(1),
    /** Where checkpoints, metrics.jsonl, metrics.html and rollout logs go. */
    out: z.string().min(1),
    /** Inference endpoints: base URLs (…/v1) of vLLM or tmax serve, or "reference" to start tmax's reference server. */
    endpoints: z.array(z.string().min(1)).min(1).default(["reference"]),
    /** How many reference servers to start for "reference". */
    reference_servers: positiveInt.default(1),
    /** The served model name requests use. */
    served_model: z.string().min(1).default("default"),
    group_size: positiveInt.default(32),
    prompts_per_step: positiveInt.default(8),
    steps: positiveInt.default(500),
    lr: z.number().positive().default(1e-6),
    weight_decay: z.number().nonnegative().default(0),
    max_grad_norm: z.number().positive().nullable().default(null),
    async_steps: z.number().int().nonnegative().default(4),
    max_prompt_tokens: positiveInt.default(2048),
    max_turn_tokens: positiveInt.default(16_384),
    max_response_tokens: positiveInt.default(65_536),
    context_tokens: positiveInt.default(67_584),
    /** Tool calls per episode (the harness's 64). */
    max_tool_calls: positiveInt.default(64),
    loss: z.enum(["dppo", "dppo-kl", "ppo-clip"]).default("dppo"),
    delta: z.number().default(0.1),
    temperature: z.number().positive().default(1.0),
    top_p: z.number().gt(0).lte(1).default(1.0),
    /** Prompt order (reshuffled each epoch from seed + epoch) and sample seeds (seed + j). */
    seed: z.number().int().default(42),
    /** A Hugging Face checkpoint every N steps (and at the end); the resume state every M, keeping K. */
    hf_every: positiveInt.default(20),
    resume_every: positiveInt.default(10),
    keep_resume: positiveInt.default(3),
    /** disk: each endpoint loads the learner's checkpoint dir; vllm-nccl: learner rank 0 broadcasts over NCCL; command: a
     *  hook of yours (weight_sync_command) gets the version and dir. */
    weight_sync: z.enum(["disk", "vllm-nccl", "command"]).default("disk"),
    weight_sync_command: z.string().min(1).nullable().default(null),
    /** vllm-nccl: the address and port of learner rank 0 that the inference workers connect to. */
    nccl_master_address: z.string().min(1).nullable().default(null),
    nccl_master_port: z.number().int().positive().nullable().default(null),
    /** Check at start that each endpoint serves with the model dir's tokenizer and returns token ids and logprobs. */
    probe_endpoints: z.boolean().default(true),
    /** Most sandboxes (rollouts) at once. */
    sandboxes: positiveInt.default(16),
    env: z.enum(["podman", "docker"]).default("podman"),
    /** Engine API URLs (unix://, tcp://, ssh://) the sandboxes are spread over, least in flight; none = env's default engine. */
    engines: z.array(z.string().min(1)).default([]),
    /** With engines: containers started at once, and execs in flight, per engine (null: tmax run's defaults, 64 / 256). */
    engine_max_starts: positiveInt.nullable().default(null),
    engine_max_execs: positiveInt.nullable().default(null),
    learner_processes: positiveInt.default(1),
    torchrun_args: z.array(z.string()).nullable().default(null),
    /** Checkpoint evaluation: a normal tmax job (the tmax agent) on this held-out dataset every eval_every steps. */
    eval_dataset: z.string().min(1).nullable().default(null),
    eval_every: positiveInt.default(20),
    /** Attempts per task (pass@k up to k). */
    eval_k: positiveInt.default(1),
    /** "reference": a reference server started on the checkpoint for the job; or a base URL that loads it from disk. */
    eval_endpoint: z.string().min(1).default("reference"),
    eval_concurrency: positiveInt.default(4),
    /** The tmax agent's settings for the eval job (its --ak), e.g. {max_steps: 64}. */
    eval_agent_kwargs: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
    /** Sampling of infra_error rollouts again before the group is given up (rl.md: resampled, not scored). */
    infra_retries: z.number().int().nonnegative().default(2),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.loss.startsWith("dppo") && !(c.delta > 0)) ctx.addIssue({ code: "custom", path: ["delta"], message: "DPPO needs a trust-region delta > 0" });
    if (c.weight_sync === "command" && c.weight_sync_command === null) ctx.addIssue({ code: "custom", path: ["weight_sync_command"], message: "weight_sync command needs the command to run" });
    if (c.weight_sync === "vllm-nccl" && (c.nccl_master_address === null || c.nccl_master_port === null)) {
      ctx.addIssue({ code: "custom", path: ["nccl_master_address"], message: "vllm-nccl needs nccl_master_address and nccl_master_port (learner rank 0's host and a free port the inference workers reach)" });
    }
    try {
      // The eval job's tmax agent would refuse them only after the first checkpoint: say so now.
      resolveSettings(c.eval_agent_kwargs, {}, false);
    } catch (err) {
      if (!(err instanceof AgentConfigError)) throw err;
      ctx.addIssue({ code: "custom", path: ["eval_agent_kwargs"], message: err.message });
    }
    if (c.max_prompt_tokens + c.max_response_tokens > c.context_tokens) {
      ctx.addIssue({ code: "custom", path: ["context_tokens"], message: "must be at least max_prompt_tokens + max_response_tokens" });
    }
  });

export type TrainConfig = z.output<typeof trainConfigSchema>;

/** The keys a config file may hold, for --help and error messages. */
export const TRAIN_CONFIG_KEYS = Object.keys(trainConfigSchema.shape) as (keyof TrainConfig)[];

export class TrainConfigError extends Error {
  override name = "TrainConfigError";
}

/** Validates a config (file values overlaid with flags); errors name the key. */
export function parseTrainConfig(input: unknown, origin: string): TrainConfig {
  const parsed = trainConfigSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "(config)"}: ${i.message}`);
    throw new TrainConfigError(`${origin}: ${problems.join("; ")}`);
  }
  return parsed.data;
}

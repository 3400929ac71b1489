import { Option } from "@commander-js/extra-typings";
import { TRAIN_CONFIG_KEYS, trainConfigSchema, type TrainConfig } from "../rl/train/train-config.js";

/**
 * Every key of a `tmax train` config as a flag: `group_size` is `--group-size N`. The help shows the recipe's
 * default. Values are converted by the key's type (integers, numbers, lists as repeated flags or commas).
 */

const HELP: Record<keyof TrainConfig, string> = {
  tasks: "a directory of Harbor tasks (or one task) to train on",
  model_dir: "the Hugging Face model dir to start from",
  out: "the run's output dir",
  endpoints: "inference base URLs (…/v1), or 'reference' to start tmax's reference server (repeat or comma-separate)",
  reference_servers: "reference servers to start for 'reference'",
  served_model: "the model name requests use",
  group_size: "rollouts per prompt (G)",
  prompts_per_step: "prompt groups per training step",
  steps: "training steps",
  lr: "learning rate (AdamW, constant)",
  weight_decay: "AdamW weight decay",
  max_grad_norm: "clip the gradient to this norm (default: no clipping, as the released runs)",
  async_steps: "groups in flight = async_steps × prompts_per_step; groups older than this many versions are dropped",
  max_prompt_tokens: "tasks whose prompt is longer are left out",
  max_turn_tokens: "tokens one model turn may sample",
  max_response_tokens: "tokens of a whole trajectory's response (model and tool tokens)",
  context_tokens: "prompt + response tokens (the pack length)",
  max_tool_calls: "tool calls per episode",
  loss: "dppo (binary TV) | dppo-kl | ppo-clip",
  delta: "DPPO trust-region delta",
  temperature: "sampling temperature",
  top_p: "sampling top-p",
  seed: "prompt order and sample seeds",
  hf_every: "keep Hugging Face weights every N steps",
  resume_every: "resume state every M steps",
  keep_resume: "resume states kept",
  weight_sync: "how new weights reach the endpoints: disk | vllm-nccl | command",
  weight_sync_command: "for --weight-sync command: run after each step with TMAX_WEIGHT_VERSION, the checkpoint dir and the endpoints",
  nccl_master_address: "for --weight-sync vllm-nccl: learner rank 0's address the inference workers reach",
  nccl_master_port: "for --weight-sync vllm-nccl: a free port there",
  probe_endpoints: "check each endpoint's tokenizer, token ids and logprobs at start (true | false)",
  sandboxes: "most rollouts (sandboxes) at once",
  env: "container backend",
  engines: "Engine API URLs to spread the sandboxes over (unix://, tcp://, ssh://; repeat or comma-separate)",
  engine_max_starts: "with engines: containers started at once per engine (default 64)",
  engine_max_execs: "with engines: execs in flight at once per engine (default 256)",
  learner_processes: "data-parallel learner ranks (torchrun)",
  torchrun_args: "torchrun's own arguments instead of --standalone (space-separated)",
  infra_retries: "times an infrastructure failure is sampled again",
  eval_dataset: "held-out Harbor tasks: a tmax-agent job on each eval_every-th checkpoint (evals/step_N/, best/)",
  eval_every: "evaluate every N steps",
  eval_k: "attempts per eval task (pass@k)",
  eval_endpoint: "'reference' (a server started on the checkpoint) or a base URL that loads it from disk",
  eval_concurrency: "eval trials at once",
  eval_agent_kwargs: "the tmax agent's settings for the eval job, as KEY=VALUE[,KEY=VALUE…] (its --ak)",
};

function flagName(key: string): string {
  return `--${key.replaceAll("_", "-")}`;
}

type Kind = "int" | "number" | "string" | "list" | "enum" | "bool" | "kwargs";

interface SchemaDef {
  type: string;
  innerType?: { def: SchemaDef; isInt?: boolean };
  entries?: Record<string, string>;
}

/** A key's flag kind, read from its zod schema (defaults and nullables unwrapped). */
function kindOf(key: keyof TrainConfig): { kind: Kind; choices?: string[] } {
  let schema = trainConfigSchema.shape[key] as unknown as { def: SchemaDef; isInt?: boolean };
  while ((schema.def.type === "default" || schema.def.type === "nullable") && schema.def.innerType) schema = schema.def.innerType;
  switch (schema.def.type) {
    case "number":
      return { kind: schema.isInt ? "int" : "number" };
    case "boolean":
      return { kind: "bool", choices: ["true", "false"] };
    case "enum":
      return { kind: "enum", choices: Object.values(schema.def.entries ?? {}) };
    case "array":
      return { kind: "list" };
    case "record":
      return { kind: "kwargs" };
    default:
      return { kind: "string" };
  }
}

function defaultOf(key: keyof TrainConfig): unknown {
  return (trainConfigSchema.shape[key].def as { defaultValue?: unknown }).defaultValue;
}

/** The options to add to `tmax train`, one per config key. */
export function trainConfigOptions(): Option[] {
  return TRAIN_CONFIG_KEYS.map((key) => {
    const { kind, choices } = kindOf(key);
    const def = defaultOf(key);
    const shown = def === undefined ? "" : ` (recipe: ${JSON.stringify(def)})`;
    const option = new Option(`${flagName(key)} <${kind === "list" ? "values" : "value"}>`, `${HELP[key]}${shown}`);
    if (choices) option.choices(choices);
    return option;
  });
}

export class TrainFlagError extends Error {
  override name = "TrainFlagError";
}

/** The config keys the user gave as flags, converted (commander gives camelCase keys and strings). */
export function trainOverrides(opts: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of TRAIN_CONFIG_KEYS) {
    const camel = key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    const raw = opts[camel];
    if (raw === undefined) continue;
    const text = typeof raw === "string" ? raw : JSON.stringify(raw);
    const { kind } = kindOf(key);
    if (kind === "int" || kind === "number") {
      const n = Number(text);
      if (!Number.isFinite(n) || (kind === "int" && !Number.isInteger(n))) throw new TrainFlagError(`${flagName(key)}: expected ${kind === "int" ? "an integer" : "a number"}, got ${text}`);
      out[key] = n;
    } else if (kind === "kwargs") {
      const pairs = text.split(",").filter((p) => p.trim());
      const kwargs: Record<string, string | number | boolean> = {};
      for (const pair of pairs) {
        const at = pair.indexOf("=");
        if (at < 1) throw new TrainFlagError(`${flagName(key)}: expected KEY=VALUE, got ${pair}`);
        const v = pair.slice(at + 1).trim();
        kwargs[pair.slice(0, at).trim()] = v === "true" ? true : v === "false" ? false : v !== "" && Number.isFinite(Number(v)) ? Number(v) : v;
      }
      out[key] = kwargs;
    } else if (kind === "bool") {
      out[key] = text === "true";
    } else if (kind === "list") {
      out[key] = text.split(key === "torchrun_args" ? /\s+/ : /[\s,]+/).filter((w) => w.length > 0);
    } else {
      out[key] = text;
    }
  }
  return out;
}

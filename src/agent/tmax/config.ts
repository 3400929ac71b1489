import { z } from "zod";

/**
 * The tmax agent's settings, from `--ak key=value` (Harbor-style agent kwargs). Defaults are the Tmax harness's
 * evaluation settings. Unknown keys are rejected so a typo never silently falls back to a default.
 */
const schema = z
  .object({
    base_url: z.string().url().optional(),
    /** Harbor/LiteLLM spelling of base_url. */
    api_base: z.string().url().optional(),
    api_key: z.string().optional(),
    max_steps: z.number().int().positive().default(64),
    max_format_errors: z.number().int().positive().default(64),
    command_timeout_sec: z.number().positive().default(120),
    max_tokens: z.number().int().positive().nullable().default(16384),
    max_tokens_param: z.enum(["max_tokens", "max_completion_tokens"]).default("max_tokens"),
    temperature: z.number().min(0).nullable().default(0.7),
    /** null omits top_p (Anthropic models reject it together with temperature). */
    top_p: z.number().gt(0).max(1).nullable().default(0.95),
    top_k: z.number().int().positive().optional(),
    extra_body: z.record(z.string(), z.unknown()).default({}),
    request_timeout_sec: z.number().positive().default(18000),
    /**
     * Seconds the agent may wait for the model server in all during one run — every request, retry and back-off — after
     * which the run ends with ModelWaitBudgetExceededError (0 = no budget). The default is one request timeout's worth.
     */
    model_wait_budget_sec: z.number().nonnegative().default(18000),
    /** Total attempts per model call for transient faults (5xx, 429, connection errors, timeouts). */
    max_attempts: z.number().int().positive().default(5),
    /** Back-off before retry n is retry_base_delay_sec × 2^(n−1). */
    retry_base_delay_sec: z.number().nonnegative().default(2),
    /** A server's Retry-After (429, 503, …) is waited for when longer than the back-off, up to this many seconds. */
    retry_after_cap_sec: z.number().nonnegative().default(60),
    /** Stop the run once the known cost reaches this many dollars (0 = no limit). */
    cost_limit_usd: z.number().nonnegative().default(0),
    /** Prices to compute cost_usd when the server does not report cost. */
    input_cost_per_mtok: z.number().nonnegative().optional(),
    output_cost_per_mtok: z.number().nonnegative().optional(),
    /** Ask the server for token ids and logprobs and record them in agent_result.rollout_details (Harbor's name). */
    collect_rollout_details: z.boolean().default(false),
  })
  .strict();

/** The settings with the server resolved; `baseUrl` is null only when the agent was given a model client. */
export type TmaxAgentSettings = z.infer<typeof schema> & { baseUrl: string | null; apiKey: string | null };

export class AgentConfigError extends Error {
  override name = "AgentConfigError";
}

/**
 * Validates kwargs and resolves the server URL and key (kwargs, then the agent env, then the process env). A server
 * is required unless `needServer` is false (the agent was built with a model client of its own).
 */
export function resolveSettings(kwargs: Record<string, unknown>, env: Record<string, string>, needServer = true): TmaxAgentSettings {
  const parsed = schema.safeParse(kwargs);
  if (!parsed.success) {
    const msgs = parsed.error.issues.map((i) =>
      i.code === "unrecognized_keys" ? `unknown agent kwarg(s): ${i.keys.join(", ")}` : `--ak ${i.path.join(".")}: ${i.message}`,
    );
    throw new AgentConfigError(`tmax agent: ${msgs.join("; ")}`);
  }
  const s = parsed.data;
  const baseUrl = s.base_url ?? s.api_base ?? env.OPENAI_BASE_URL ?? process.env.OPENAI_BASE_URL ?? null;
  if (!baseUrl && needServer) {
    throw new AgentConfigError("tmax agent: no model server given: pass --base-url http://host:port/v1 or set OPENAI_BASE_URL");
  }
  const apiKey = s.api_key ?? env.OPENAI_API_KEY ?? process.env.OPENAI_API_KEY ?? null;
  return { ...s, baseUrl, apiKey };
}

import type { Environment } from "../../environment/environment.js";
import { OpenAIChatClient } from "../../model/openai-client.js";
import type { ModelClient } from "../../model/types.js";
import { TMAX_VERSION } from "../../version.js";
import { splitModelName, type Agent, type AgentDeps, type AgentOptions, type AgentRunContext, type ModelInfo } from "../agent.js";
import { fillAgentResult } from "./agent-result.js";
import { ChatPolicy } from "./chat-policy.js";
import { resolveSettings, type TmaxAgentSettings } from "./config.js";
import { TMAX_EVAL_RULES, runEpisode, type EpisodeSettings } from "./episode.js";
import { PersistentShell } from "./shell.js";
import { writeTrajectoryFiles } from "./trajectory-files.js";

/**
 * The tmax agent: the Tmax harness (the episode engine with the evaluation rules) over any OpenAI-compatible
 * chat-completions server, in a persistent shell on the trial's environment. This class only adapts: it builds the
 * policy and the shell, runs the episode, writes the trajectory files and fills Harbor's agent_result.
 */
export class TmaxAgent implements Agent {
  readonly name = "tmax";
  readonly version = TMAX_VERSION;
  readonly modelInfo: ModelInfo | null;
  readonly settings: TmaxAgentSettings;
  private readonly client: ModelClient;
  private shell: PersistentShell | null = null;

  constructor(
    opts: AgentOptions,
    private readonly deps: AgentDeps = {},
  ) {
    if (!opts.modelName) throw new Error("the tmax agent needs a model: -m <served model name>");
    this.settings = resolveSettings(opts.kwargs, opts.env, !deps.modelClient);
    this.modelInfo = splitModelName(opts.modelName);
    this.client =
      deps.modelClient ??
      new OpenAIChatClient({
        baseUrl: this.settings.baseUrl!,
        apiKey: this.settings.apiKey,
        model: opts.modelName,
        requestTimeoutSec: this.settings.request_timeout_sec,
        retry: { attempts: this.settings.max_attempts, baseDelaySec: this.settings.retry_base_delay_sec, maxRetryAfterSec: this.settings.retry_after_cap_sec },
        onRetry: (message) => this.deps.onEvent?.({ type: "retry", message }),
      });
  }

  /** The harness rules these settings select. */
  private rules(): EpisodeSettings {
    const s = this.settings;
    return { ...TMAX_EVAL_RULES, maxSteps: s.max_steps, maxFormatErrors: s.max_format_errors, commandTimeoutSec: s.command_timeout_sec, costLimitUsd: s.cost_limit_usd };
  }

  private policy(): ChatPolicy {
    const s = this.settings;
    return new ChatPolicy(
      this.client,
      {
        temperature: s.temperature,
        top_p: s.top_p,
        max_tokens: s.max_tokens,
        maxTokensParam: s.max_tokens_param,
        extraBody: { ...(s.top_k !== undefined ? { top_k: s.top_k } : {}), ...s.extra_body },
        tokenDetails: s.collect_rollout_details,
      },
      { prices: { inputPerMtok: s.input_cost_per_mtok, outputPerMtok: s.output_cost_per_mtok }, waitBudgetSec: s.model_wait_budget_sec },
    );
  }

  async setup(env: Environment, ctx: AgentRunContext): Promise<void> {
    this.shell = new PersistentShell(env, { user: ctx.task.config.agent.user });
    await this.shell.setup(ctx.signal);
  }

  async run(instruction: string, env: Environment, ctx: AgentRunContext): Promise<void> {
    if (!this.shell) await this.setup(env, ctx);
    const rules = this.rules();
    const collect = this.settings.collect_rollout_details;
    const episode = await runEpisode({
      instruction,
      policy: this.policy(),
      shell: this.shell!,
      settings: rules,
      signal: ctx.signal,
      onEvent: (event, live) => {
        // agent_result stays current, so a run the runner abandons still reports what it used.
        if (event.type !== "retry") fillAgentResult(ctx.result, live, { rolloutDetails: false });
        this.deps.onEvent?.(event);
      },
    });
    const { missingTokenData } = fillAgentResult(ctx.result, episode, { rolloutDetails: collect });
    if (missingTokenData.length > 0) ctx.log(`rollout details: the server did not report ${missingTokenData.join(", ")} for every turn; left out`);
    if (episode.ending === "context_window") ctx.log(`context window exceeded at step ${episode.steps.length + 1}: ${episode.detail ?? ""}`);
    await writeTrajectoryFiles(ctx.logsDir, episode, { agent: { name: this.name, version: this.version, model: this.client.model }, maxSteps: rules.maxSteps });
    if (episode.ending === "error" || episode.ending === "interrupted") throw episode.error;
  }
}

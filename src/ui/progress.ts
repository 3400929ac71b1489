import pc from "picocolors";
import { formatDuration } from "../util/time.js";
import { LiveStatus } from "./live-status.js";
import type { TrialResult } from "../harbor/trial-schema.js";
import { isSolved, PRIMARY_REWARD_KEY, primaryReward } from "../verifier/reward.js";

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/**
 * Live job progress. On a terminal: one status line redrawn in place (bar, done / running / errored, mean reward
 * so far, elapsed, ETA) with finished trials printed above it. Elsewhere: one plain line per finished trial.
 */
export class JobProgress extends LiveStatus {
  private done = 0;
  private errored = 0;
  private rewardSum = 0;
  private running = new Set<string>();
  private readonly startedAt = Date.now();
  private frame = 0;

  constructor(
    private readonly total: number,
    private readonly alreadyDone: number,
    out?: NodeJS.WriteStream,
    live?: boolean,
  ) {
    super(out, live);
  }

  trialStarted(trialName: string): void {
    this.running.add(trialName);
  }

  trialEnded(r: TrialResult, willRetry: boolean): void {
    this.running.delete(r.trial_name);
    const type = r.exception_info?.exception_type;
    const rewards = r.verifier_result?.rewards;
    if (type === "CancelledError") return;
    let status: string;
    if (willRetry) status = pc.yellow(`${type} (retrying)`);
    else {
      this.done++;
      if (type) this.errored++;
      // The mean so far and the green "solved" colour follow the one definition in verifier/reward.ts.
      this.rewardSum += primaryReward(rewards) ?? 0;
      const rewardText = rewards
        ? `reward ${Object.entries(rewards).map(([k, v]) => (k === PRIMARY_REWARD_KEY ? `${v}` : `${k}=${v}`)).join(" ")}`
        : "no reward";
      status = `${isSolved(rewards) ? pc.green(rewardText) : rewardText}${type ? " " + pc.red(type) : ""}`;
    }
    this.message(`${pc.dim("•")} ${r.trial_name}  ${status}`);
  }

  statusLine(): string {
    this.frame++;
    const finished = this.done + this.alreadyDone;
    const width = 24;
    const filled = this.total === 0 ? width : Math.round((finished / this.total) * width);
    const bar = pc.green("█".repeat(filled)) + pc.dim("░".repeat(width - filled));
    const elapsed = (Date.now() - this.startedAt) / 1000;
    const remaining = this.total - finished;
    const eta = this.done > 0 ? (elapsed / this.done) * remaining : Number.NaN;
    const mean = this.done > 0 ? (this.rewardSum / this.done).toFixed(3) : "–";
    return [
      `${SPINNER[this.frame % SPINNER.length]} ${bar} ${finished}/${this.total}`,
      `${this.running.size} running`,
      `${this.errored > 0 ? pc.red(`${this.errored} errored`) : "0 errored"}`,
      `mean ${mean}`,
      `${formatDuration(elapsed)} elapsed`,
      `ETA ${remaining === 0 ? "0s" : formatDuration(eta)}`,
    ].join(pc.dim(" · "));
  }
}

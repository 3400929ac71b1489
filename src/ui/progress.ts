import pc from "picocolors";
import { formatDuration } from "../util/time.js";
import type { TrialResult } from "../trial/schema.js";

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/**
 * Live job progress. On a terminal: one status line redrawn in place (bar, done / running / errored, mean reward
 * so far, elapsed, ETA) with finished trials printed above it. Elsewhere: one plain line per finished trial.
 */
export class JobProgress {
  private done = 0;
  private errored = 0;
  private rewardSum = 0;
  private running = new Set<string>();
  private readonly startedAt = Date.now();
  private timer: NodeJS.Timeout | null = null;
  private frame = 0;
  private lastLineLength = 0;

  constructor(
    private readonly total: number,
    private readonly alreadyDone: number,
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly live: boolean = !!process.stderr.isTTY,
  ) {}

  start(): void {
    if (this.live) {
      this.timer = setInterval(() => this.draw(), 200);
      this.timer.unref();
      this.draw();
    }
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
      const reward = rewards ? (rewards.reward ?? Object.values(rewards)[0] ?? 0) : 0;
      this.rewardSum += reward;
      const rewardText = rewards ? `reward ${Object.entries(rewards).map(([k, v]) => (k === "reward" ? `${v}` : `${k}=${v}`)).join(" ")}` : "no reward";
      status = `${rewards && reward >= 1 ? pc.green(rewardText) : rewardText}${type ? " " + pc.red(type) : ""}`;
    }
    this.print(`${pc.dim("•")} ${r.trial_name}  ${status}`);
  }

  message(line: string): void {
    this.print(line);
  }

  private print(line: string): void {
    if (this.live) {
      this.clear();
      this.out.write(line + "\n");
      this.draw();
    } else {
      this.out.write(line + "\n");
    }
  }

  private clear(): void {
    if (this.lastLineLength > 0) this.out.write("\r\x1b[K");
    this.lastLineLength = 0;
  }

  statusLine(): string {
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

  private draw(): void {
    this.frame++;
    const line = this.statusLine();
    this.out.write("\r\x1b[K" + line);
    this.lastLineLength = line.length;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.live) this.clear();
  }
}

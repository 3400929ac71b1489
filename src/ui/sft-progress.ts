import pc from "picocolors";
import { formatDuration } from "../util/time.js";
import { LiveStatus } from "./live-status.js";

export interface SftStepLine {
  step: number;
  epoch: number;
  loss: number | null;
  tokens: number;
  tokensPerSecond: number | null;
  applied: boolean;
  skipReason: string | null;
}

const BAR_WIDTH = 20;

/**
 * Live progress of `tmax train sft`: each finished step is printed (loss, trained tokens, learner tokens/s); on a
 * terminal a status line shows a bar, steps done / total, the epoch, the mean loss of the last steps, elapsed, ETA.
 */
export class SftProgress extends LiveStatus {
  private done = 0;
  private epoch = 1;
  private readonly recentLosses: number[] = [];
  private readonly startedAt = Date.now();

  constructor(
    private readonly total: number,
    private readonly epochs: number,
    out?: NodeJS.WriteStream,
    live?: boolean,
  ) {
    super(out, live, 500);
  }

  stepStarted(epoch: number): void {
    this.epoch = epoch;
  }

  stepEnded(s: SftStepLine): void {
    this.done++;
    if (s.loss !== null) {
      this.recentLosses.push(s.loss);
      if (this.recentLosses.length > 10) this.recentLosses.shift();
    }
    const rate = s.tokensPerSecond === null ? "" : pc.dim(` · ${Math.round(s.tokensPerSecond)} tok/s`);
    const what = s.applied ? `loss ${s.loss === null ? "–" : s.loss.toFixed(4)}` : pc.yellow(`skipped: ${s.skipReason ?? "not applied"}`);
    this.message(`step ${s.step}/${this.total} · epoch ${s.epoch}/${this.epochs} · ${what} · ${s.tokens} tokens${rate}`);
  }

  statusLine(): string {
    const filled = this.total === 0 ? BAR_WIDTH : Math.round((this.done / this.total) * BAR_WIDTH);
    const bar = "█".repeat(filled) + "░".repeat(BAR_WIDTH - filled);
    const elapsed = Date.now() - this.startedAt;
    const eta = this.done > 0 ? formatDuration(((this.total - this.done) * elapsed) / this.done / 1000) : "–";
    const mean = this.recentLosses.length ? (this.recentLosses.reduce((a, b) => a + b, 0) / this.recentLosses.length).toFixed(4) : "–";
    return `${bar} ${this.done}/${this.total} steps · epoch ${this.epoch}/${this.epochs} · loss (last ${this.recentLosses.length}) ${mean} · ${formatDuration(elapsed / 1000)} · ETA ${eta}`;
  }
}

import pc from "picocolors";
import type { ManifestEntry } from "../store/corpus-schema.js";
import { formatDuration } from "../util/time.js";
import { LiveStatus } from "./live-status.js";

/**
 * Live progress of `tmax gen build`: finished specs are printed as they end; on a terminal a status line shows
 * done / total, in flight, accepted, rejected by reason, cost so far, elapsed and ETA.
 */
export class GenProgress extends LiveStatus {
  private accepted = 0;
  private rejected = 0;
  private readonly reasons = new Map<string, number>();
  private readonly inFlight = new Map<string, string>();
  private cost = 0;
  private doneThisRun = 0;
  private readonly startedAt = Date.now();

  constructor(
    private readonly total: number,
    private readonly alreadyDone: number,
    initial: { accepted: number; rejected: number; costUsd: number },
    out?: NodeJS.WriteStream,
    live?: boolean,
  ) {
    super(out, live, 250);
    this.accepted = initial.accepted;
    this.rejected = initial.rejected;
    this.cost = initial.costUsd;
  }

  specStep(specId: string, step: string): void {
    this.inFlight.set(specId, step);
  }

  setCost(usd: number): void {
    this.cost = usd;
  }

  specEnd(e: ManifestEntry): void {
    this.inFlight.delete(e.spec_id);
    this.doneThisRun++;
    const cost = e.cost_usd != null ? ` $${e.cost_usd.toFixed(3)}` : "";
    const extra = `${e.repairs ? `, ${e.repairs} repair${e.repairs === 1 ? "" : "s"}` : ""}, ${e.timings.total_s.toFixed(0)}s${cost}`;
    if (e.status === "accepted") {
      this.accepted++;
      this.message(`${pc.green("✓")} ${e.spec_id} → ${e.task} ${pc.dim(`(${e.spec.domain}, ${e.spec.task_complexity}${extra})`)}`);
    } else {
      this.rejected++;
      this.reasons.set(e.reason ?? "?", (this.reasons.get(e.reason ?? "?") ?? 0) + 1);
      this.message(`${pc.red("✗")} ${e.spec_id} rejected: ${e.reason} ${pc.dim(`(${extra.slice(2)})`)}`);
    }
  }

  statusLine(): string {
    const done = this.alreadyDone + this.doneThisRun;
    const width = 20;
    const filled = this.total === 0 ? width : Math.round((done / this.total) * width);
    const elapsed = (Date.now() - this.startedAt) / 1000;
    const eta = this.doneThisRun > 0 ? (elapsed / this.doneThisRun) * (this.total - done) : Number.NaN;
    const reasons = [...this.reasons.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([r, n]) => `${r} ${n}`).join(", ");
    return [
      `${pc.green("█".repeat(filled))}${pc.dim("░".repeat(width - filled))} ${done}/${this.total}`,
      `${this.inFlight.size} in flight`,
      pc.green(`${this.accepted} accepted`),
      `${this.rejected} rejected${reasons ? ` (${reasons})` : ""}`,
      `$${this.cost.toFixed(3)}`,
      `${formatDuration(elapsed)}`,
      `ETA ${done >= this.total ? "0s" : formatDuration(eta)}`,
    ].join(pc.dim(" · "));
  }
}

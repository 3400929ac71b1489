/**
 * A status line redrawn in place on a terminal, with ordinary lines printed above it. Off a terminal, only the
 * printed lines appear.
 */
export abstract class LiveStatus {
  private timer: NodeJS.Timeout | null = null;
  private shown = false;

  constructor(
    protected readonly out: NodeJS.WriteStream = process.stderr,
    protected readonly live: boolean = !!process.stderr.isTTY,
    private readonly intervalMs = 200,
  ) {}

  /** The current status line. */
  abstract statusLine(): string;

  start(): void {
    if (!this.live) return;
    this.timer = setInterval(() => this.draw(), this.intervalMs);
    this.timer.unref();
    this.draw();
  }

  /** Prints a line above the status line. */
  message(line: string): void {
    this.clear();
    this.out.write(line + "\n");
    if (this.live) this.draw();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.clear();
  }

  private clear(): void {
    if (this.shown) this.out.write("\r\x1b[K");
    this.shown = false;
  }

  private draw(): void {
    this.out.write("\r\x1b[K" + this.statusLine().slice(0, 400));
    this.shown = true;
  }
}

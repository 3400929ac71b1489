/**
 * The exec wrapper prints an end-of-command marker (with the exit status on stdout) after the command returns.
 * Seeing the markers lets an exec finish as soon as the command itself is done, even when a background job it
 * started (`server &`) keeps the output pipes open. This scanner finds the marker in a chunked byte stream,
 * passes through everything before it and drops everything after it.
 */
export class ExitMarkerScanner {
  private readonly marker: Buffer;
  private held: Buffer = Buffer.alloc(0);
  private afterMarker: Buffer | null = null;
  /** The exit status printed after the marker (stdout), once its line is complete. */
  status: number | null = null;
  /** True once the marker (and, when expected, its status line) has been seen. */
  done = false;

  constructor(
    marker: string,
    private readonly withStatus: boolean,
  ) {
    this.marker = Buffer.from(marker, "latin1");
  }

  /** Feeds a chunk; returns the bytes that belong to the command's own output. */
  push(chunk: Buffer): Buffer {
    if (this.afterMarker) {
      this.readStatus(chunk);
      return EMPTY;
    }
    const data = this.held.length > 0 ? Buffer.concat([this.held, chunk]) : chunk;
    this.held = EMPTY;
    const first = this.marker[0]!;
    let from = 0;
    for (;;) {
      const i = data.indexOf(first, from);
      if (i < 0) return data;
      const avail = data.length - i;
      const n = Math.min(avail, this.marker.length);
      if (data.compare(this.marker, 0, n, i, i + n) === 0) {
        if (avail < this.marker.length) {
          // A possible marker cut by the chunk boundary: hold it back until the next chunk.
          this.held = Buffer.from(data.subarray(i));
          return data.subarray(0, i);
        }
        this.afterMarker = EMPTY;
        this.readStatus(data.subarray(i + this.marker.length));
        return data.subarray(0, i);
      }
      from = i + 1;
    }
  }

  /** End of stream: bytes held back as a possible marker prefix were output after all. */
  flush(): Buffer {
    const rest = this.held;
    this.held = EMPTY;
    return rest;
  }

  private readStatus(chunk: Buffer): void {
    if (this.done) return;
    if (!this.withStatus) {
      this.done = true;
      return;
    }
    const acc = Buffer.concat([this.afterMarker!, chunk]);
    const nl = acc.indexOf(10);
    if (nl < 0) {
      this.afterMarker = acc.subarray(0, 32);
      return;
    }
    const status = Number(acc.subarray(0, nl).toString("latin1"));
    this.status = Number.isInteger(status) ? status : null;
    this.done = true;
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * Collects a byte stream keeping at most `limit` bytes: the first half and the last half. Memory stays bounded no
 * matter how much a command prints.
 */
export class HeadTailBuffer {
  private head: Buffer[] = [];
  private headLen = 0;
  private tail: Buffer[] = [];
  private tailLen = 0;
  total = 0;

  constructor(private readonly limit: number) {}

  get dropped(): number {
    return this.total - this.headLen - this.tailLen;
  }

  push(chunk: Buffer): void {
    this.total += chunk.length;
    const headCap = Math.ceil(this.limit / 2);
    if (this.headLen < headCap) {
      const take = Math.min(headCap - this.headLen, chunk.length);
      this.head.push(chunk.subarray(0, take));
      this.headLen += take;
      chunk = chunk.subarray(take);
      if (chunk.length === 0) return;
    }
    const tailCap = this.limit - headCap;
    if (tailCap <= 0) return;
    this.tail.push(chunk);
    this.tailLen += chunk.length;
    while (this.tailLen > tailCap && this.tail.length > 0) {
      const first = this.tail[0]!;
      const excess = this.tailLen - tailCap;
      if (first.length <= excess) {
        this.tail.shift();
        this.tailLen -= first.length;
      } else {
        this.tail[0] = first.subarray(excess);
        this.tailLen -= excess;
      }
    }
  }

  toString(): string {
    const head = Buffer.concat(this.head);
    const tail = Buffer.concat(this.tail);
    if (this.dropped === 0) return Buffer.concat([head, tail]).toString("utf8");
    return head.toString("utf8") + tail.toString("utf8");
  }
}

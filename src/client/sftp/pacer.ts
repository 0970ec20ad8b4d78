// A bandwidth limit (sftp's -l): requests are let through at the rate given,
// with a burst of a quarter second's worth so the pipeline stays busy.

export class Pacer {
  private readonly bytesPerMs: number;
  private readonly burst: number;
  private allowance: number;
  private last: number;

  /** `bitsPerSecond` > 0. */
  constructor(bitsPerSecond: number, private readonly now: () => number = () => performance.now()) {
    if (!(bitsPerSecond > 0) || !Number.isFinite(bitsPerSecond)) throw new RangeError(`bandwidthLimit: ${bitsPerSecond} is not a positive number of bits per second`);
    this.bytesPerMs = bitsPerSecond / 8 / 1000;
    this.burst = Math.max(this.bytesPerMs * 250, 1);
    this.allowance = this.burst;
    this.last = now();
  }

  /**
   * Milliseconds to wait before sending `bytes` (0: go now, and they are
   * counted). A request larger than the burst goes once the allowance is full.
   */
  delay(bytes: number): number {
    const t = this.now();
    this.allowance = Math.min(this.burst, this.allowance + (t - this.last) * this.bytesPerMs);
    this.last = t;
    const need = Math.min(bytes, this.burst);
    if (this.allowance >= need) {
      this.allowance -= bytes;
      return 0;
    }
    return Math.max(1, Math.ceil((need - this.allowance) / this.bytesPerMs));
  }
}

// When to start a key re-exchange: after a volume of data (RFC 4344 §3 and
// OpenSSH's rule, or the user's smaller limit), a number of packets, or a time.

export interface RekeyLimits {
  /** Bytes in either direction; the cipher's own limit applies when smaller. */
  readonly bytes: number;
  /** Packets in either direction (OpenSSH uses 2^31). */
  readonly packets: number;
  /** Milliseconds since the last exchange; 0 disables. Default one hour. */
  readonly intervalMs: number;
}

export const DEFAULT_REKEY_LIMITS: RekeyLimits = {
  bytes: Number.POSITIVE_INFINITY,
  packets: 2 ** 31,
  intervalMs: 60 * 60 * 1000,
};

export class RekeyPolicy {
  private readonly limits: RekeyLimits;
  private sentBytes = 0;
  private receivedBytes = 0;
  private sentPackets = 0;
  private receivedPackets = 0;
  private outLimit = Number.POSITIVE_INFINITY;
  private inLimit = Number.POSITIVE_INFINITY;
  private since: number;

  constructor(limits: Partial<RekeyLimits>, now: number) {
    this.limits = { ...DEFAULT_REKEY_LIMITS, ...limits };
    this.since = now;
  }

  sent(bytes: number): void {
    this.sentBytes += bytes;
    this.sentPackets++;
  }

  received(bytes: number): void {
    this.receivedBytes += bytes;
    this.receivedPackets++;
  }

  /** New outgoing keys: the cipher's byte limit; counting starts again. */
  outgoingKeys(cipherLimit: number): void {
    this.outLimit = Math.min(cipherLimit, this.limits.bytes);
    this.sentBytes = 0;
    this.sentPackets = 0;
  }

  incomingKeys(cipherLimit: number): void {
    this.inLimit = Math.min(cipherLimit, this.limits.bytes);
    this.receivedBytes = 0;
    this.receivedPackets = 0;
  }

  /** The exchange finished: the time limit starts again. */
  reset(now: number): void {
    this.since = now;
  }

  due(now: number): boolean {
    return (
      this.sentBytes >= this.outLimit ||
      this.receivedBytes >= this.inLimit ||
      this.sentPackets >= this.limits.packets ||
      this.receivedPackets >= this.limits.packets ||
      (this.limits.intervalMs > 0 && now - this.since >= this.limits.intervalMs)
    );
  }

  deadline(): number | null {
    return this.limits.intervalMs > 0 ? this.since + this.limits.intervalMs : null;
  }
}

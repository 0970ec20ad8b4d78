// When NodeFileSystem may do a file call synchronously, on the event loop,
// instead of through libuv's thread pool. A pool round trip costs a thread
// wake-up, an eventfd write and an extra turn of the loop (with an SFTP
// client that sends the next request only after the reply, a turn on the
// path of every request): for a 4 KiB file, an open, an fstat, a read and a
// close from the page cache take a few microseconds each, the round trips
// around them far more. But a call that blocks (a cold disk, a network file
// system, a writer throttled by the kernel) would stall every session of
// the process, so each inline call is timed, and slow ones send every call
// of the process back to the pool for a while, a longer while each time
// (up to MAX_BACKOFF_MS; the next period starts short again after a quiet
// minute). The clock is the wall's, and on a busy machine a call of a few
// microseconds is now and then preempted for a time slice: one call over
// SLOW_MS is a strike, and it takes STRIKES of them within a second (or one
// over VERY_SLOW_MS) to close the gate. At worst a slow file system blocks
// the loop for a few calls per back-off period.
import { performance } from 'node:perf_hooks';

/** An inline call slower than this is a strike. */
export const SLOW_MS = 2;
/** Strikes within STRIKE_WINDOW_MS that close the gate. */
export const STRIKES = 3;
const STRIKE_WINDOW_MS = 1000;
/** An inline call slower than this closes the gate at once. */
export const VERY_SLOW_MS = 30;
/** A slow call this long after the last one that closed the gate starts the back-off over. */
const QUIET_MS = 60 * 1000;
/** The first back-off; each slow inline call after one doubles it. */
const FIRST_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 5 * 60 * 1000;
/** Reads and writes up to this size may run inline; larger ones always go to the pool. */
export const INLINE_BYTES = 64 * 1024;

export class InlineGate {
  /** Inline calls are refused until this time (performance.now()). */
  private until = 0;
  private backoff = FIRST_BACKOFF_MS;
  /** When the recent strikes came. */
  private strikes: number[] = [];
  /** When the gate last closed. */
  private closedAt = -Infinity;
  /** Slow inline calls seen (for tests and diagnostics). */
  slowCalls = 0;
  /** Times the gate closed. */
  closings = 0;

  constructor(
    /** False turns inline calls off altogether. */
    public enabled = true,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Whether a call may run inline now. */
  get open(): boolean {
    return this.enabled && (this.until === 0 || this.now() >= this.until);
  }

  /**
   * Runs `call` inline and returns what it returns (or throws what it
   * throws), timing it: a slow one closes the gate for the back-off period.
   */
  run<T>(call: () => T): T {
    const start = this.now();
    try {
      return call();
    } finally {
      const took = this.now() - start;
      if (took > SLOW_MS) this.slow(start + took, took);
    }
  }

  private slow(at: number, took: number): void {
    this.slowCalls++;
    this.strikes = this.strikes.filter((t) => at - t < STRIKE_WINDOW_MS);
    this.strikes.push(at);
    if (took <= VERY_SLOW_MS && this.strikes.length < STRIKES) return;
    this.strikes = [];
    if (at - this.closedAt > QUIET_MS) this.backoff = FIRST_BACKOFF_MS;
    this.closedAt = at;
    this.closings++;
    this.until = at + this.backoff;
    this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
  }
}

/**
 * The gate every NodeFileSystem of the process shares: a slow file system
 * stalls all sessions alike, so one of them finding it slow is news for all.
 * `NACRE_SFTP_INLINE=0` in the environment turns inline calls off.
 */
export const INLINE = new InlineGate(process.env.NACRE_SFTP_INLINE !== '0');

// The SFTP session's bytes onto its channel, in order. Large pieces (WRITE
// bodies) go to Channel.sendData as they are, without a copy; small ones
// (request packets, WRITE headers) are gathered into one buffer until the
// current burst of work ends (a microtask) or a large piece follows, so a
// burst of requests costs one channel write, one SSH packet and one socket
// write instead of one each. While the channel holds a piece back (the
// peer's window, the socket), the rest wait. `afterSent` tells a writer when
// what it queued has been taken (so its buffer may be reused).

/**
 * What an SFTP session runs over: a session channel running the `sftp`
 * subsystem, or any byte stream (src/client/sftp/over-stream.ts adapts one).
 * `sendData` resolves (or returns undefined) once the bytes are taken, so
 * their buffer may be reused.
 */
export interface SftpCarrier {
  sendData(data: Uint8Array): Promise<void> | undefined;
  close(): void;
  destroy(): void;
  readonly destroyed: boolean;
  on(event: 'data', listener: (chunk: Uint8Array) => void): unknown;
  on(event: 'end' | 'close' | 'channel-close', listener: () => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  once(event: 'close', listener: () => void): unknown;
}

/** Pieces shorter than this are copied into the gathering buffer. */
const SMALL_PIECE = 16 * 1024;
/** The gathering buffer is handed on when it holds this much. */
const GATHER_LIMIT = 32 * 1024;

export class Outbox {
  private readonly queue: Uint8Array[] = [];
  private holding = false;
  /** Pieces queued and pieces taken by the channel, counted from the start. */
  private queued = 0;
  private sent = 0;
  private waiters: { readonly at: number; readonly fn: () => void }[] = [];
  private readonly gather = new Uint8Array(GATHER_LIMIT);
  private gathered = 0;
  private flushScheduled = false;
  private readonly flushLater = (): void => {
    this.flushScheduled = false;
    this.flushGathered();
  };

  constructor(private readonly channel: SftpCarrier) {}

  push(bytes: Uint8Array): void {
    if (bytes.length < SMALL_PIECE) {
      if (this.gathered + bytes.length > GATHER_LIMIT) this.flushGathered();
      this.gather.set(bytes, this.gathered);
      this.gathered += bytes.length;
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        queueMicrotask(this.flushLater);
      }
      return;
    }
    this.flushGathered();
    this.enqueue(bytes);
  }

  /** Calls `fn` once everything pushed so far has been taken by the channel or copied (at once if it has). */
  afterSent(fn: () => void): void {
    if (this.sent === this.queued) fn();
    else this.waiters.push({ at: this.queued, fn });
  }

  private flushGathered(): void {
    if (this.gathered === 0) return;
    // The channel may keep what it is given until it is sent: a copy of its own.
    const piece = this.gather.slice(0, this.gathered);
    this.gathered = 0;
    this.enqueue(piece);
  }

  private enqueue(bytes: Uint8Array): void {
    this.queued++;
    this.queue.push(bytes);
    if (!this.holding) this.pump();
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const b = this.queue.shift()!;
      const wait = this.channel.sendData(b);
      if (wait) {
        this.holding = true;
        const go = (): void => {
          this.holding = false;
          this.sent++;
          this.wake();
          this.pump();
        };
        wait.then(go, go);
        return;
      }
      this.sent++;
    }
    this.wake();
  }

  private wake(): void {
    if (this.waiters.length === 0) return;
    const ready: (() => void)[] = [];
    let keep = 0;
    for (const w of this.waiters) {
      if (w.at <= this.sent) ready.push(w.fn);
      else this.waiters[keep++] = w;
    }
    this.waiters.length = keep;
    for (const fn of ready) fn();
  }
}

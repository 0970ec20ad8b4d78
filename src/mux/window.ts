// Flow control for Nacre's session streams over a control socket, as SSH
// channels do it: each side may send a stream's data only within the window
// the receiver granted, and the receiver grants more as its consumer takes
// the data. So neither side buffers more than one window per stream, however
// slow the other end is.
import { ProtocolError } from '../errors.js';
import { MAX_MUX_DATA, type MuxMessage, type MuxStream } from './codec.js';

/** Each stream's initial window, in bytes; both sides start with it. */
export const MUX_WINDOW = 256 * 1024;
const MAX_WINDOW = 0xffffffff;

/** Our side of a stream we send: the peer's window, and what waits for it. */
export class OutgoingStream {
  private window = MUX_WINDOW;
  private readonly queue: Uint8Array[] = [];
  private queuedBytes = 0;
  private eofWanted = false;
  private eofSent = false;
  private drainWaiters: (() => void)[] = [];

  constructor(
    private readonly emit: (m: MuxMessage) => void,
    private readonly sessionId: number,
    private readonly stream: MuxStream,
    /** Sends nothing until release(). */
    private held = false,
  ) {}

  release(): void {
    this.held = false;
    this.flush();
  }

  /**
   * Sends what the window allows and keeps the rest. False when something is
   * kept: the caller stops producing until onDrain (that keeps the queue to
   * about one chunk).
   */
  write(data: Uint8Array): boolean {
    if (this.eofWanted) return true;
    if (data.length > 0) {
      this.queue.push(data);
      this.queuedBytes += data.length;
    }
    this.flush();
    return this.queuedBytes === 0;
  }

  /** EOF, sent after whatever is still queued. */
  end(): void {
    this.eofWanted = true;
    this.flush();
  }

  /** The peer granted `n` more bytes. */
  grant(n: number): void {
    if (n > MAX_WINDOW - this.window) throw new ProtocolError(`mux: a window adjust of ${n} bytes overflows the ${this.stream} window`);
    this.window += n;
    this.flush();
  }

  onDrain(fn: () => void): void {
    if (this.queuedBytes === 0) fn();
    else this.drainWaiters.push(fn);
  }

  /** Everything written has gone out, and the EOF after it. */
  get finished(): boolean {
    return this.eofSent;
  }

  get queued(): number {
    return this.queuedBytes;
  }

  private flush(): void {
    if (this.held) return;
    while (this.queue.length > 0 && this.window > 0) {
      const head = this.queue[0]!;
      const n = Math.min(head.length, this.window, MAX_MUX_DATA);
      const piece = n === head.length ? head : head.subarray(0, n);
      if (n === head.length) this.queue.shift();
      else this.queue[0] = head.subarray(n);
      this.window -= n;
      this.queuedBytes -= n;
      this.emit({ type: 'nacre-data', sessionId: this.sessionId, stream: this.stream, data: piece });
    }
    if (this.queuedBytes === 0) {
      if (this.eofWanted && !this.eofSent) {
        this.eofSent = true;
        this.emit({ type: 'nacre-eof', sessionId: this.sessionId, stream: this.stream });
      }
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of waiters) w();
    }
  }
}

/** Our side of a stream we receive: what the peer may still send, and what to grant back. */
export class IncomingStream {
  private allowed = MUX_WINDOW;
  private consumedSinceGrant = 0;
  private eof = false;

  constructor(
    private readonly emit: (m: MuxMessage) => void,
    private readonly sessionId: number,
    private readonly stream: MuxStream,
  ) {}

  /** The peer sent `n` bytes: a ProtocolError past the window or after EOF. */
  received(n: number): void {
    if (this.eof) throw new ProtocolError(`mux: ${this.stream} data after EOF`);
    if (n > this.allowed) throw new ProtocolError(`mux: the peer sent ${n} bytes of ${this.stream} with ${this.allowed} left in its window`);
    this.allowed -= n;
  }

  receivedEof(): void {
    if (this.eof) throw new ProtocolError(`mux: a second EOF on ${this.stream}`);
    this.eof = true;
  }

  /** Our consumer took `n` bytes: grant them back, in batches of half a window. */
  consumed(n: number): void {
    if (this.eof) return;
    this.consumedSinceGrant += n;
    if (this.consumedSinceGrant >= MUX_WINDOW / 2) {
      const grant = this.consumedSinceGrant;
      this.consumedSinceGrant = 0;
      this.allowed += grant;
      this.emit({ type: 'nacre-window', sessionId: this.sessionId, stream: this.stream, bytes: grant });
    }
  }

  get ended(): boolean {
    return this.eof;
  }
}

// Drives a sans-I/O core (a Transport or an Endpoint) over a Node Duplex: feeds
// received bytes in, writes what the core emits, keeps the core's next
// deadline as a timer, and hands events to a listener. Socket backpressure is
// reported to the layer above through `needsDrain` and `onDrain`.
import type { Duplex } from 'node:stream';

/**
 * `performance.timeOrigin`, read once: it is fixed for the process, and its
 * getter cost more than `performance.now()` itself (~40–170 ns a call on
 * Node 20), for a clock read several times per packet of a bulk transfer.
 */
const TIME_ORIGIN = performance.timeOrigin;

/**
 * Every input of a core takes the time; this layer's clock (ms), the one its
 * timers are set by. Monotonic, like the timers themselves: the wall clock
 * (Date.now) is stepped by NTP, by hand or after a suspend, and a step
 * forward would make every deadline due at once (a key exchange timed out,
 * keepalives missed) while a step back would hold them off, since the core
 * ignores a clock going backwards. It reads as milliseconds since the epoch
 * (the process start's wall time plus the time elapsed since).
 */
export function clockNow(): number {
  return TIME_ORIGIN + performance.now();
}

export interface Driveable<E> {
  /** `lent`: the memory of `bytes` is reused once this returns (see `REUSED_READS`). */
  receive(now: number, bytes: Uint8Array, lent?: boolean): void;
  pollTransmit(): Uint8Array | null;
  pollEvent(): E | null;
  nextDeadline(): number | null;
  handleTimeout(now: number): void;
  connectionLost(now: number, description?: string): void;
  /** Ends the connection because something above failed. */
  abort(now: number, error: unknown): void;
}

/** Bytes the socket may buffer before channel writers wait for 'drain'. */
export const WRITE_BUFFER_LIMIT = 1024 * 1024;
/**
 * Bytes the socket may buffer before we stop reading from the peer. Replies
 * the peer provokes (PONG, window adjusts, request replies) are not paced by
 * channel windows, so a peer that sends but never reads must be slowed here.
 */
export const READ_PAUSE_LIMIT = 8 * 1024 * 1024;

/**
 * Socket reads into one buffer for the whole process, Node's `onread` option
 * (`net.connect({ ..., onread: REUSED_READS })`): without it every read of a
 * bulk transfer is a fresh 64 KiB buffer, and their garbage is a large part
 * of a download's CPU. Reads run one at a time on the event loop and the core
 * copies what it keeps of them (`Transport.receive`'s `lent`), so one buffer
 * serves every socket; 256 KiB lets one read take several packets.
 * Reads that come before the socket's Driver exists (the server's version
 * line right after connect) are copied and handed over when it does.
 */
export const REUSED_READS: { readonly buffer: Uint8Array; callback(this: Duplex, bytes: number, buffer: Uint8Array): boolean } = {
  buffer: Buffer.allocUnsafe(256 * 1024),
  callback(bytes, buffer) {
    const chunk = buffer.subarray(0, bytes);
    const driver = readers.get(this);
    if (driver) return driver.receiveLent(chunk);
    let early = earlyReads.get(this);
    if (!early) earlyReads.set(this, (early = []));
    early.push(new Uint8Array(chunk));
    return true;
  },
};
const readers = new WeakMap<Duplex, { receiveLent(bytes: Uint8Array): boolean }>();
const earlyReads = new WeakMap<Duplex, Uint8Array[]>();

export class Driver<E extends { type: string }> {
  private timer: NodeJS.Timeout | null = null;
  /** When the armed timer fires (`clockNow()` clock). */
  private timerAt = 0;
  private ended = false;
  private running = false;
  private again = false;
  private readonly drainListeners: (() => void)[] = [];
  private readPaused = false;
  private corked = false;
  private readonly uncork = (): void => {
    this.corked = false;
    this.socket.uncork();
  };

  constructor(
    readonly socket: Duplex,
    readonly core: Driveable<E>,
    private readonly onEvent: (event: E) => void,
  ) {
    // A socket made with REUSED_READS delivers through receiveLent and never
    // emits 'data'; the listener still starts its reading.
    socket.on('data', (chunk: Buffer) => {
      // The cores report errors as events; should one still throw, it ends
      // this connection, never the process (this is a socket listener).
      this.guarded(() => core.receive(clockNow(), chunk));
      this.run();
    });
    readers.set(socket, this);
    const early = earlyReads.get(socket);
    if (early) {
      earlyReads.delete(socket);
      // After the constructor: the owner's event handler may need the driver it is building.
      queueMicrotask(() => {
        for (const chunk of early) {
          this.guarded(() => core.receive(clockNow(), chunk));
          this.run();
        }
      });
    }
    socket.on('end', () => this.lost('peer closed the connection'));
    socket.on('close', () => this.lost('connection closed'));
    socket.on('error', (err: Error) => this.lost(`socket error: ${err.message}`));
    socket.on('drain', () => {
      if (this.readPaused) {
        this.readPaused = false;
        socket.resume();
      }
      for (const l of this.drainListeners.splice(0)) l();
      this.run();
    });
  }

  /**
   * A read into `REUSED_READS.buffer`: the core copies what it keeps. Returns
   * false to make Node stop reading (as `pause()` does for 'data' reads,
   * which an `onread` socket ignores); `resume()` starts it again.
   */
  receiveLent(bytes: Uint8Array): boolean {
    this.guarded(() => this.core.receive(clockNow(), bytes, true));
    this.run();
    return !this.readPaused;
  }

  /**
   * True while more than `WRITE_BUFFER_LIMIT` bytes wait in the socket's write
   * buffer. The limit is far above a socket's default high-water mark (16 KiB):
   * stopping at that mark would wait for every packet to drain before sending
   * the next, leaving the link idle; 1 MiB keeps it busy and memory bounded.
   */
  get needsDrain(): boolean {
    const s = this.socket as { writableNeedDrain?: boolean; writableLength?: number };
    return s.writableNeedDrain === true && (s.writableLength ?? 0) > WRITE_BUFFER_LIMIT;
  }

  /** Calls `fn` once, when the socket's write buffer drains (or `wakeWriters` says so). */
  onDrain(fn: () => void): void {
    this.drainListeners.push(fn);
  }

  /** Lets waiting writers go on when what held them back was not the socket (a finished key exchange). */
  wakeWriters(): void {
    if (this.needsDrain) return;
    for (const l of this.drainListeners.splice(0)) l();
  }

  /**
   * Writes pending output and delivers pending events. Call after issuing
   * commands on the core. Re-entrant calls (from event handlers) are folded
   * into the running loop.
   */
  run(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    try {
      do {
        this.again = false;
        this.flush();
        for (let e = this.core.pollEvent(); e; e = this.core.pollEvent()) {
          try {
            this.onEvent(e);
          } catch (err) {
            // A failing handler ends this connection only, never the process.
            this.core.abort(clockNow(), err);
          }
          this.flush();
          if (e.type === 'disconnected') this.finish();
        }
      } while (this.again);
    } finally {
      this.running = false;
    }
    this.schedule();
  }

  private flush(): void {
    let b = this.core.pollTransmit();
    if (!b) return;
    const socket = this.socket;
    // Packets queued while handling one round of I/O leave together: the socket
    // stays corked until the loop's check phase, so everything the callbacks of
    // this poll phase produced (a program's pipe is read 64 KiB at a time, a
    // socket read may answer several packets) goes out in one writev instead of
    // one syscall per callback. Corked bytes still count in writableLength, so
    // `needsDrain` stays exact.
    if (!this.corked && !socket.destroyed && socket.writable) {
      this.corked = true;
      socket.cork();
      setImmediate(this.uncork);
    }
    for (; b; b = this.core.pollTransmit()) {
      if (!socket.destroyed && socket.writable) socket.write(b);
    }
    const buffered = (socket as { writableLength?: number }).writableLength ?? 0;
    if (!this.readPaused && buffered > READ_PAUSE_LIMIT && !socket.destroyed) {
      this.readPaused = true;
      socket.pause();
    }
  }

  private schedule(): void {
    const deadline = this.ended ? null : this.core.nextDeadline();
    if (deadline === null) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      return;
    }
    // run() comes once per received chunk and the keepalive deadline moves
    // with every packet; re-arming a timer each time was a measurable share
    // of bulk transfers. A timer due no later than the deadline is kept: when
    // it fires early the core finds nothing due and run() arms the next one.
    if (this.timer && this.timerAt <= deadline) return;
    if (this.timer) clearTimeout(this.timer);
    const now = clockNow();
    const delay = Math.max(0, Math.min(deadline - now, 2 ** 31 - 1));
    this.timerAt = now + delay;
    this.timer = setTimeout(() => {
      this.timer = null;
      // A timer callback, like a socket listener: a throw would end the process.
      this.guarded(() => this.core.handleTimeout(clockNow()));
      this.run();
    }, delay);
  }

  private lost(why: string): void {
    if (this.ended) return;
    this.guarded(() => this.core.connectionLost(clockNow(), why));
    this.run();
  }

  /** Runs a core command from a listener or timer; should it throw, the connection ends, never the process. */
  private guarded(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.core.abort(clockNow(), e);
    }
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    // Writers waiting for 'drain' would wait forever on a dead socket; they
    // wake up, find their channel closed and drop what they had.
    for (const l of this.drainListeners.splice(0)) l();
    if (!this.socket.destroyed) this.socket.end();
    // Give the DISCONNECT a moment to leave, then make sure the socket goes.
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }
}
